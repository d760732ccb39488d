/**
 * The /ws wire protocol, shared by the gateway and the client (so it imports nothing from Node).
 * Frames are objects with a `type`; the same shapes travel as JSON text or MessagePack binary,
 * chosen by subprotocol. Prices on quotes and bars channels are integer units of 1/10,000
 * (kernel/money.ts, `welcome.priceScale`); orders and portfolio payloads are the REST API's shapes,
 * in decimals. docs/websocket.md describes it; docs/websocket.asyncapi.json is generated from here.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Subprotocols: MessagePack when the client asks for it, JSON otherwise (and when it asks nothing). */
export const SUBPROTOCOL_JSON = 'tachyon.v1.json';
export const SUBPROTOCOL_MSGPACK = 'tachyon.v1.msgpack';
/** Every name the server accepts, by format, the versioned one first (the one it prefers to echo). */
export const SUBPROTOCOLS = { msgpack: [SUBPROTOCOL_MSGPACK, 'msgpack'], json: [SUBPROTOCOL_JSON, 'json'] } as const;
export type Format = 'json' | 'msgpack';

/** The subprotocol to answer for the names a client offered: MessagePack first, then JSON; false for none of ours. */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false {
  for (const name of [...SUBPROTOCOLS.msgpack, ...SUBPROTOCOLS.json]) if (offered.has(name)) return name;
  return false;
}

export function formatOf(subprotocol: string): Format {
  return (SUBPROTOCOLS.msgpack as readonly string[]).includes(subprotocol) ? 'msgpack' : 'json';
}

/**
 * Close codes (4000–4999 are the application's). After 4001 and 4009 a client should not retry
 * blindly; after 4008, 1001 and 1012 it reconnects with backoff and resubscribes (it gets snapshots).
 */
export const CloseCode = {
  /** Server shutting down, or authentication unavailable or too slow: reconnect (with backoff). */
  GOING_AWAY: 1001,
  /** The client kept sending while not reading: its unsent replies passed the send-buffer limit. */
  POLICY_VIOLATION: 1008,
  /** This instance is stopping (drained for a restart or scale-in): reconnect, the load balancer sends you to another. */
  SERVICE_RESTART: 1012,
  /** A frame above the hard size ceiling (ws answers this itself). */
  TOO_BIG: 1009,
  /** Bad or missing token, or no `auth` message within the timeout. */
  UNAUTHORIZED: 4001,
  /** Could not keep up even with quotes conflated: unsent bytes stayed above the limits. */
  SLOW_CONSUMER: 4008,
  /** The user already has the maximum number of connections (on this instance). */
  CONNECTION_LIMIT: 4009,
} as const;

// The frames are TypeBox schemas so the AsyncAPI document (asyncapi.ts, docs/websocket.asyncapi.json)
// is generated from the same definitions the code is typed by; descriptions become its text.
const RequestId = Type.Optional(Type.Integer({ description: 'echoed in the answer, to match it with its request' }));
const Channels = Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, description: 'channel names (see parseChannel)' });

// ---- client → server ----
export const AuthFrameSchema = Type.Object(
  { type: Type.Literal('auth'), token: Type.String({ description: 'an API token (tyn_…)' }) },
  { $id: 'auth', description: 'First frame when the upgrade carried no Authorization header; answered by `welcome` or by an `unauthorized` error and close 4001.' },
);
export const StreamPositionSchema = Type.Object(
  {
    offset: Type.Integer({ minimum: 0, description: 'the last offset the client received on the channel' }),
    epoch: Type.String({ maxLength: 32, description: 'the epoch that came with it' }),
  },
  { $id: 'StreamPosition' },
);
/** At most this many channels may ask for recovery in one subscribe frame. */
export const MAX_RECOVER_CHANNELS = 64;
export const SubscribeFrameSchema = Type.Object(
  {
    type: Type.Literal('subscribe'),
    id: RequestId,
    channels: Channels,
    recover: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), StreamPositionSchema, {
        maxProperties: MAX_RECOVER_CHANNELS,
        description:
          'Recoverable channels (orders, portfolio) by concrete name (`orders:12`), each with the last offset and epoch received: the answer holds exactly the events missed since, or says recovery is impossible and holds a snapshot.',
      }),
    ),
  },
  { $id: 'subscribe', description: 'Joins channels; answered by one `subscribed` frame with a snapshot (or the recovered events) per channel, and one error frame per refused channel.' },
);
export const UnsubscribeFrameSchema = Type.Object(
  { type: Type.Literal('unsubscribe'), id: RequestId, channels: Channels },
  { $id: 'unsubscribe', description: 'Leaves channels; answered by `unsubscribed`.' },
);
export const PingFrameSchema = Type.Object(
  { type: Type.Literal('ping'), id: RequestId },
  { $id: 'ping', description: 'Application-level ping, for clients (browsers) that cannot see WebSocket ping frames; answered by `pong`, also before `welcome`.' },
);
export type AuthFrame = Static<typeof AuthFrameSchema>;
export type SubscribeFrame = Static<typeof SubscribeFrameSchema>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrameSchema>;
export type PingFrame = Static<typeof PingFrameSchema>;
export type ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame;
export const CLIENT_FRAMES = [AuthFrameSchema, SubscribeFrameSchema, UnsubscribeFrameSchema, PingFrameSchema] as const;

// ---- server → client ----
export const WelcomeFrameSchema = Type.Object(
  {
    type: Type.Literal('welcome'),
    connectionId: Type.String(),
    userId: Type.Integer(),
    accountIds: Type.Array(Type.Integer()),
    format: Type.Union([Type.Literal('json'), Type.Literal('msgpack')], { description: 'the framing chosen from the subprotocol' }),
    priceScale: Type.Integer({ description: 'prices on quotes and bars channels are integers in units of 1/priceScale (10,000)' }),
    heartbeatMs: Type.Integer({ description: 'the server pings after this much silence' }),
    heartbeatTimeoutMs: Type.Integer({ description: 'and closes a connection silent for this long' }),
    limits: Type.Object({ maxSubscriptions: Type.Integer(), maxMessageBytes: Type.Integer(), maxMessagesPerSecond: Type.Integer(), maxSnapshotsPerSecond: Type.Integer() }),
  },
  { $id: 'welcome', description: 'The connection is authenticated. Frames sent while an `auth` is being checked are answered after it, in order.' },
);
export const RECOVERY_FAILURES = ['epoch_changed', 'offset_expired', 'unavailable'] as const;
export const SubscriptionSchema = Type.Object({
  channel: Type.String(),
  seq: Type.Integer({ description: "the channel's sequence at the snapshot (recoverable channels: its stream offset); messages that follow carry larger ones" }),
  snapshot: Type.Optional(Type.Unknown({ description: "the channel's current state, shaped like its messages' data (null when there is none yet); absent when recovered" })),
  offset: Type.Optional(Type.Integer({ description: 'recoverable channels: the stream offset the snapshot or the recovered events reach' })),
  epoch: Type.Optional(Type.String({ description: "recoverable channels: the stream's epoch; an offset means something only within it" })),
  recovered: Type.Optional(Type.Boolean({ description: 'present when the subscribe asked to recover this channel: true when `publications` are exactly the missed events' })),
  recoveryError: Type.Optional(
    Type.Union(
      RECOVERY_FAILURES.map((r) => Type.Literal(r)),
      { description: 'why recovery was impossible (the epoch changed, the offset is older than the retention, the stream is unreachable): a fresh snapshot replaces the history' },
    ),
  ),
  publications: Type.Optional(Type.Array(Type.Unknown(), { description: 'recovered: the missed channel messages, in offset order (shaped like batch messages)' })),
});
export const SubscribedFrameSchema = Type.Object(
  { type: Type.Literal('subscribed'), id: RequestId, subscriptions: Type.Array(SubscriptionSchema) },
  { $id: 'subscribed', description: 'Answer to `subscribe`: a snapshot per joined channel.' },
);
export const UnsubscribedFrameSchema = Type.Object(
  { type: Type.Literal('unsubscribed'), id: RequestId, channels: Type.Array(Type.String()) },
  { $id: 'unsubscribed', description: 'Answer to `unsubscribe`.' },
);
export const ERROR_CODES = [
  'bad_request', // malformed frame: not JSON/MessagePack, not an object, unknown type, bad fields
  'unauthorized',
  'already_authenticated',
  'unknown_channel', // no such channel, or another user's private channel (indistinguishable on purpose)
  'subscription_limit',
  'connection_limit',
  'message_too_large',
  'rate_limited', // too many messages, or subscriptions beyond the snapshots allowed per second (subscribe again shortly)
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export const ErrorFrameSchema = Type.Object(
  {
    type: Type.Literal('error'),
    id: RequestId,
    code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
    message: Type.String({ description: 'what went wrong and how to fix it' }),
    channel: Type.Optional(Type.String()),
  },
  { $id: 'error', description: 'A refused frame or channel; the connection stays open unless a close follows (4001, 4009).' },
);
export const PongFrameSchema = Type.Object({ type: Type.Literal('pong'), id: RequestId }, { $id: 'pong', description: 'Answer to `ping`.' });
/**
 * One published event. `seq` grows by one per event on the channel (per instance): a gap on a
 * quotes channel means conflation; orders events are never conflated, so a gap there cannot happen
 * on a live connection. `event` names the kind where a channel carries more than one (`orders`).
 */
export const ChannelMessageSchema = Type.Object({
  channel: Type.String(),
  seq: Type.Integer({ description: 'recoverable channels (orders, portfolio): equal to `offset`' }),
  offset: Type.Optional(Type.Integer({ description: 'recoverable channels: the event stream offset, the same on every instance; one more than the previous event of the channel' })),
  epoch: Type.Optional(Type.String({ description: "recoverable channels: the stream's epoch" })),
  event: Type.Optional(Type.String({ description: '`order` or `fill` on orders channels' })),
  data: Type.Unknown({ description: 'the channel payload (see the channels)' }),
});
export interface ChannelMessage<T = unknown> {
  channel: string;
  seq: number;
  offset?: number;
  epoch?: string;
  event?: string;
  data: T;
}
export const BatchFrameSchema = Type.Object(
  { type: Type.Literal('batch'), messages: Type.Array(ChannelMessageSchema) },
  { $id: 'batch', description: 'Channel events, at most one frame per flush interval (TACHYON_WS_FLUSH_MS, 20 ms by default).' },
);
export type WelcomeFrame = Static<typeof WelcomeFrameSchema>;
export type Subscription = Static<typeof SubscriptionSchema>;
export type SubscribedFrame = Static<typeof SubscribedFrameSchema>;
export type UnsubscribedFrame = Static<typeof UnsubscribedFrameSchema>;
export type ErrorFrame = Static<typeof ErrorFrameSchema>;
export type PongFrame = Static<typeof PongFrameSchema>;
export interface BatchFrame {
  type: 'batch';
  messages: ChannelMessage[];
}
export type ServerFrame = WelcomeFrame | SubscribedFrame | UnsubscribedFrame | ErrorFrame | PongFrame | BatchFrame;
export const SERVER_FRAMES = [WelcomeFrameSchema, SubscribedFrameSchema, UnsubscribedFrameSchema, ErrorFrameSchema, PongFrameSchema, BatchFrameSchema] as const;

// ---- channel payloads (prices in integer units of 1/10,000 on quotes and bars) ----
export const QuoteDataSchema = Type.Object(
  {
    id: Type.Integer({ description: 'instrument id' }),
    symbol: Type.String(),
    bid: Type.Integer({ description: 'units of 1/10,000' }),
    ask: Type.Integer({ description: 'units of 1/10,000' }),
    last: Type.Integer({ description: 'units of 1/10,000' }),
    size: Type.Integer({ description: 'traded size of this tick (0 in a snapshot)' }),
    ts: Type.Integer({ description: 'epoch milliseconds of the tick' }),
  },
  { $id: 'QuoteData', description: 'Payload of `quotes:SYMBOL` (the market-data tick; state channel, conflated).' },
);
export type QuoteData = Static<typeof QuoteDataSchema>;
export const BarDataSchema = Type.Object(
  {
    ts: Type.Integer({ description: 'bar start, epoch milliseconds' }),
    open: Type.Integer({ description: 'units of 1/10,000' }),
    high: Type.Integer({ description: 'units of 1/10,000' }),
    low: Type.Integer({ description: 'units of 1/10,000' }),
    close: Type.Integer({ description: 'units of 1/10,000' }),
    volume: Type.Integer(),
  },
  { $id: 'BarData', description: 'Payload of `bars:SYMBOL:1m`: each 1-minute bar once it is stored (event channel, never conflated).' },
);

// ---- channels ----
export type ChannelRef =
  | { kind: 'quotes'; symbol: string }
  | { kind: 'bars'; symbol: string; interval: '1m' }
  | { kind: 'orders' | 'portfolio'; accountId: number | undefined }
  | { kind: 'metrics' };

/** The admin channel streaming this instance's performance snapshot (observability/live-metrics.ts) about once a second. */
export const METRICS_CHANNEL = 'metrics';

const MAX_CHANNEL_LENGTH = 64;

/**
 * Parses `quotes:SYM`, `bars:SYM:1m`, `orders`, `orders:<accountId>`, `portfolio`,
 * `portfolio:<accountId>`, `metrics`; `undefined` for anything else. Symbols are upper-cased.
 */
export function parseChannel(channel: string): ChannelRef | undefined {
  if (channel.length > MAX_CHANNEL_LENGTH) return undefined;
  if (channel === METRICS_CHANNEL) return { kind: 'metrics' };
  const parts = channel.split(':');
  const [kind, a, b] = parts;
  if (kind === 'quotes' && parts.length === 2 && a) return { kind, symbol: a.toUpperCase() };
  if (kind === 'bars' && parts.length === 3 && a && b === '1m') return { kind, symbol: a.toUpperCase(), interval: b };
  if (kind === 'orders' || kind === 'portfolio') {
    if (parts.length === 1) return { kind, accountId: undefined };
    if (parts.length === 2 && a && /^[1-9]\d{0,15}$/.test(a)) return { kind, accountId: Number(a) };
  }
  return undefined;
}
