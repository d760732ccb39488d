/**
 * The /ws wire protocol, shared by the gateway and the client (so it imports nothing from Node).
 * Frames are objects with a `type`; the same shapes travel as JSON text or MessagePack binary,
 * chosen by subprotocol. Prices and cash are integer units of 1/10,000 (kernel/money.ts).
 */

/** Subprotocols: MessagePack when the client asks for it, JSON otherwise (and when it asks nothing). */
export const SUBPROTOCOL_JSON = 'tachyon.v1.json';
export const SUBPROTOCOL_MSGPACK = 'tachyon.v1.msgpack';
export type Format = 'json' | 'msgpack';

/**
 * Close codes (4000–4999 are the application's). After 4001 and 4009 a client should not retry
 * blindly; after 4008, 1001 and 1012 it reconnects with backoff and resubscribes (it gets snapshots).
 */
export const CloseCode = {
  /** Server shutting down: reconnect (another instance will answer). */
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

export type ErrorCode =
  | 'bad_request' // malformed frame: not JSON/MessagePack, not an object, unknown type, bad fields
  | 'unauthorized'
  | 'already_authenticated'
  | 'unknown_channel' // no such channel, or another user's private channel (indistinguishable on purpose)
  | 'subscription_limit'
  | 'connection_limit'
  | 'message_too_large'
  | 'rate_limited' // too many messages, or subscriptions beyond the snapshots allowed per second (subscribe again shortly)
  | 'internal';

// ---- client → server ----
export interface AuthFrame {
  type: 'auth';
  token: string;
}
export interface SubscribeFrame {
  type: 'subscribe';
  id?: number;
  channels: string[];
}
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: number;
  channels: string[];
}
/** Application-level ping, for clients (browsers) that cannot see WebSocket ping frames. */
export interface PingFrame {
  type: 'ping';
  id?: number;
}
export type ClientFrame = AuthFrame | SubscribeFrame | UnsubscribeFrame | PingFrame;

// ---- server → client ----
export interface WelcomeFrame {
  type: 'welcome';
  connectionId: string;
  userId: number;
  accountIds: readonly number[];
  format: Format;
  /** The server pings after this much silence and reaps after `heartbeatTimeoutMs`. */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  limits: { maxSubscriptions: number; maxMessageBytes: number; maxMessagesPerSecond: number; maxSnapshotsPerSecond: number };
}
export interface Subscription {
  channel: string;
  /** The channel's sequence at the snapshot; messages that follow carry larger ones. */
  seq: number;
  snapshot: unknown;
}
export interface SubscribedFrame {
  type: 'subscribed';
  id?: number;
  subscriptions: Subscription[];
}
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  id?: number;
  channels: string[];
}
export interface ErrorFrame {
  type: 'error';
  id?: number;
  code: ErrorCode;
  message: string;
  channel?: string;
}
export interface PongFrame {
  type: 'pong';
  id?: number;
}
/**
 * One published event. `seq` grows by one per event on the channel (per instance): a gap on a
 * quotes channel means conflation; orders events are never conflated, so a gap there cannot happen
 * on a live connection. `event` names the kind where a channel carries more than one (`orders`).
 */
export interface ChannelMessage<T = unknown> {
  channel: string;
  seq: number;
  event?: string;
  data: T;
}
export interface BatchFrame {
  type: 'batch';
  messages: ChannelMessage[];
}
export type ServerFrame = WelcomeFrame | SubscribedFrame | UnsubscribedFrame | ErrorFrame | PongFrame | BatchFrame;

/** Payload of `quotes:SYMBOL` (the market-data Tick; prices in units, `ts` epoch ms of the tick). */
export interface QuoteData {
  id: number;
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  size: number;
  ts: number;
}

// ---- channels ----
export type ChannelRef =
  | { kind: 'quotes'; symbol: string }
  | { kind: 'bars'; symbol: string; interval: '1m' }
  | { kind: 'orders' | 'portfolio'; accountId: number | undefined };

const MAX_CHANNEL_LENGTH = 64;

/**
 * Parses `quotes:SYM`, `bars:SYM:1m`, `orders`, `orders:<accountId>`, `portfolio`,
 * `portfolio:<accountId>`; `undefined` for anything else. Symbols are upper-cased.
 */
export function parseChannel(channel: string): ChannelRef | undefined {
  if (channel.length > MAX_CHANNEL_LENGTH) return undefined;
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
