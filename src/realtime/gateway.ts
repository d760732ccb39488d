/**
 * The WebSocket gateway: authenticates connections, validates and answers client frames, keeps
 * subscriptions in the channel registry, and runs two timers — the flush loop (one batched frame
 * per busy connection per interval) and the heartbeat sweep (ping the idle, reap the silent).
 * It never throws into the socket layer: every bad input becomes an error frame.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TooManyRequestsError } from '../kernel/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Principal } from '../auth/principal.ts';
import type { TachyonConfig } from '../config/config.ts';
import type { MessageBus } from '../kernel/bus.ts';
import type { Clock } from '../kernel/clock.ts';
import type { MarketData } from '../market-data/service.ts';
import { TimeSlicer } from '../kernel/time-slicer.ts';
import type { EventStream, RecoveryFailure, StreamPosition } from '../stream/event-stream.ts';
import { ChannelRegistry, recoverable, streamMessage } from './channels.ts';
import { codecFor, decodeClientFrame } from './codec.ts';
import { Connection, type Transport } from './connection.ts';
import { RealtimeMetrics, type LatencySummary } from './metrics.ts';
import { PRICE_SCALE } from '../kernel/money.ts';
import { CloseCode, MAX_RECOVER_CHANNELS, METRICS_CHANNEL, parseChannel, type ErrorCode, type Format, type Subscription } from './protocol.ts';
import { barSnapshot, quoteSnapshot, type AccountSnapshotProvider } from './snapshots.ts';

export type RealtimeConfig = TachyonConfig['realtime'];

export interface GatewayDeps {
  bus: MessageBus;
  marketData: MarketData;
  authenticator: Authenticator;
  snapshots: AccountSnapshotProvider;
  /** Orders and portfolio events with offsets: what recoverable channels deliver and replay. */
  stream: EventStream;
  clock: Clock;
  logger: Logger;
  config: RealtimeConfig;
}

export interface RealtimeStats {
  connections: number;
  subscriptions: number;
  messagesOut: number;
  bytesOut: number;
  framesOut: number;
  messagesOutPerSec: number;
  bytesOutPerSec: number;
  conflated: number;
  dropped: number;
  slowConsumerCloses: number;
  reaped: number;
  errorFrames: number;
  sendBuffer: { totalBytes: number; maxBytes: number };
  tickToSendMs: LatencySummary;
}

const MAX_ID = 2 ** 31;
/** Snapshots read at once, and the main-thread budget between yields, while answering a subscribe. */
const SNAPSHOT_READS = 8;
const SNAPSHOT_SLICE_MS = 4;
/** Frames kept while an `auth` is checked (a subscribe or two is the normal case). */
const MAX_AWAITING_AUTH = 16;
/** How often the admin `metrics` channel gets a fresh snapshot while someone watches it. */
export const METRICS_INTERVAL_MS = 1_000;

/** What the admin `metrics` channel streams (observability/live-metrics.ts): `full` for a subscriber's first snapshot. */
export interface MetricsFeed {
  snapshot(full: boolean): Promise<unknown>;
}

export class RealtimeGateway {
  readonly metrics = new RealtimeMetrics();
  private readonly registry: ChannelRegistry;
  private readonly connections = new Set<Connection>();
  private readonly perUser = new Map<number, number>();
  private readonly authTimers = new Map<Connection, NodeJS.Timeout>();
  private busy = new Set<Connection>();
  private spare = new Set<Connection>();
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private metricsFeed: MetricsFeed | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  /** A snapshot is being built: the next tick skips rather than pile up behind a slow one. */
  private metricsPending = false;
  private readonly config: RealtimeConfig;
  private readonly markBusy = (connection: Connection) => void this.busy.add(connection);

  constructor(private readonly deps: GatewayDeps) {
    this.config = deps.config;
    this.registry = new ChannelRegistry(deps.bus, () => deps.clock.now(), this.metrics, deps.stream);
  }

  start(): void {
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => this.flush(), this.config.flushIntervalMs);
    // A third of the interval: a silent connection is pinged and reaped within a third of its deadline.
    this.heartbeatTimer = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.config.heartbeatMs / 3)));
    // Ticks cost a Map lookup while nobody watches the metrics channel.
    if (this.metricsFeed) this.metricsTimer = setInterval(() => this.publishMetrics(), METRICS_INTERVAL_MS);
  }

  /** Serves the admin `metrics` channel from `feed` (set before `start`). */
  streamMetrics(feed: MetricsFeed): void {
    this.metricsFeed = feed;
  }

  /** Stops the timers and closes every connection with 1012 (service restart) so clients reconnect elsewhere. */
  stop(): void {
    clearInterval(this.flushTimer);
    clearInterval(this.heartbeatTimer);
    clearInterval(this.metricsTimer);
    this.flushTimer = this.heartbeatTimer = this.metricsTimer = undefined;
    for (const connection of this.connections) connection.close(CloseCode.SERVICE_RESTART, 'server restarting: reconnect');
    this.registry.close();
  }

  /** A new socket; `principal` is set when the upgrade carried a valid Authorization header. */
  accept(transport: Transport, principal: Principal | undefined, format: Format, address?: string): Connection {
    const connection = new Connection(randomUUID(), transport, codecFor(format), this.metrics, this.markBusy, this.config, this.deps.clock.now());
    connection.address = address;
    this.connections.add(connection);
    if (principal) {
      this.authenticated(connection, principal);
    } else {
      const timer = setTimeout(() => {
        this.authTimers.delete(connection);
        if (connection.principal) return;
        // An auth frame still being checked is the server's slowness, not a bad client: 4001 would tell
        // clients not to retry (the dashboard stops there), so this one is told to come back.
        if (connection.awaitingAuth) this.refuse(connection, 'internal', 'authentication is taking too long, retry later', CloseCode.GOING_AWAY);
        else this.refuse(connection, 'unauthorized', 'no auth message within the timeout', CloseCode.UNAUTHORIZED);
      }, this.config.authTimeoutMs);
      this.authTimers.set(connection, timer);
    }
    return connection;
  }

  /** The socket closed (either side): forget the connection and its subscriptions. */
  release(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    connection.markClosed();
    clearTimeout(this.authTimers.get(connection));
    this.authTimers.delete(connection);
    for (const channel of connection.subscriptions) this.registry.remove(channel, connection);
    connection.subscriptions.clear();
    this.busy.delete(connection);
    const userId = connection.principal?.userId;
    if (userId !== undefined) {
      const n = (this.perUser.get(userId) ?? 1) - 1;
      if (n === 0) this.perUser.delete(userId);
      else this.perUser.set(userId, n);
    }
  }

  /** Any frame or pong proves the peer alive. */
  touch(connection: Connection): void {
    connection.lastSeen = this.deps.clock.now();
  }

  receive(connection: Connection, data: Buffer, isBinary: boolean): void {
    // A connection closed by the server (over a limit) does no more work while its socket winds down.
    if (connection.closed) return;
    const now = this.deps.clock.now();
    connection.lastSeen = now;
    if (data.length > this.config.maxMessageBytes) {
      return this.error(connection, 'message_too_large', `messages are limited to ${this.config.maxMessageBytes} bytes`);
    }
    const admitted = connection.admit(now);
    if (admitted === 'limited') return this.error(connection, 'rate_limited', `at most ${this.config.maxMessagesPerSecond} messages per second; this one was ignored`);
    if (admitted === 'silent') return;
    let frame: unknown;
    try {
      frame = decodeClientFrame(data, isBinary);
    } catch {
      return this.error(connection, 'bad_request', isBinary ? 'binary frames must be MessagePack' : 'text frames must be JSON');
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') {
      return this.error(connection, 'bad_request', 'a frame is an object with a string "type"');
    }
    const f = frame as Record<string, unknown>;
    const id = typeof f.id === 'number' && Number.isInteger(f.id) && Math.abs(f.id) < MAX_ID ? f.id : undefined;
    if (f.type === 'ping') return connection.send({ type: 'pong', id });
    if (f.type === 'auth') return void this.authenticate(connection, f.token);
    if (!connection.principal) {
      // A client may send auth and subscribe back to back: what follows a pending auth waits for it.
      const waiting = connection.awaitingAuth;
      if (!waiting) return this.error(connection, 'unauthorized', 'send {"type":"auth","token":…} first', id);
      if (waiting.length >= MAX_AWAITING_AUTH) return this.error(connection, 'rate_limited', `at most ${MAX_AWAITING_AUTH} frames may wait for authentication`, id);
      return void waiting.push({ frame: f, id });
    }
    this.handle(connection, f, id);
  }

  /** An authenticated client's subscribe or unsubscribe frame. */
  private handle(connection: Connection, f: Record<string, unknown>, id: number | undefined): void {
    if (f.type === 'subscribe' || f.type === 'unsubscribe') {
      const channels = f.channels;
      if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => typeof c === 'string')) {
        return this.error(connection, 'bad_request', '"channels" must be a non-empty array of strings', id);
      }
      if (f.type === 'subscribe') {
        const recover = recoverPositions(f.recover);
        if (recover === 'invalid') {
          return this.error(connection, 'bad_request', `"recover" maps at most ${MAX_RECOVER_CHANNELS} channel names to {"offset": integer ≥ 0, "epoch": string}`, id);
        }
        return void this.subscribe(connection, channels, id, recover);
      }
      return this.unsubscribe(connection, channels, id);
    }
    this.error(connection, 'bad_request', `unknown frame type "${String(f.type).slice(0, 32)}"`, id);
  }

  stats(): RealtimeStats {
    const m = this.metrics;
    let totalBytes = 0;
    let maxBytes = 0;
    for (const connection of this.connections) {
      const buffered = connection.bufferedAmount;
      totalBytes += buffered;
      if (buffered > maxBytes) maxBytes = buffered;
    }
    return {
      connections: this.connections.size,
      subscriptions: this.registry.subscriptionCount(),
      messagesOut: m.messagesOut,
      bytesOut: m.bytesOut,
      framesOut: m.framesOut,
      messagesOutPerSec: m.messagesOutPerSec,
      bytesOutPerSec: m.bytesOutPerSec,
      conflated: m.conflated,
      dropped: m.dropped,
      slowConsumerCloses: m.slowConsumerCloses,
      reaped: m.reaped,
      errorFrames: m.errorFrames,
      sendBuffer: { totalBytes, maxBytes },
      tickToSendMs: m.latency(),
    };
  }

  private async authenticate(connection: Connection, token: unknown): Promise<void> {
    if (connection.principal) return this.error(connection, 'already_authenticated', 'this connection is already authenticated');
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) {
      return this.refuse(connection, 'unauthorized', '"token" must be an API token', CloseCode.UNAUTHORIZED);
    }
    if (connection.awaitingAuth) return this.error(connection, 'already_authenticated', 'an auth frame is already being checked');
    connection.awaitingAuth = [];
    let principal: Principal | undefined;
    try {
      principal = await this.deps.authenticator.resolveFrom(token, connection.address);
    } catch (error) {
      if (error instanceof TooManyRequestsError) {
        connection.awaitingAuth = undefined;
        return this.refuse(connection, 'rate_limited', error.message, CloseCode.UNAUTHORIZED);
      }
      // The token itself is never logged (nor echoed back).
      this.deps.logger.error({ err: error }, 'websocket authentication failed');
      return this.refuse(connection, 'internal', 'authentication is unavailable, retry later', CloseCode.GOING_AWAY);
    }
    const waiting = connection.awaitingAuth;
    connection.awaitingAuth = undefined;
    if (connection.closed) return;
    if (!principal) return this.refuse(connection, 'unauthorized', 'the API token is unknown or revoked', CloseCode.UNAUTHORIZED);
    clearTimeout(this.authTimers.get(connection));
    this.authTimers.delete(connection);
    this.authenticated(connection, principal);
    if (!connection.principal) return; // refused (connection limit)
    for (const { frame, id } of waiting) this.handle(connection, frame, id);
  }

  private authenticated(connection: Connection, principal: Principal): void {
    const open = this.perUser.get(principal.userId) ?? 0;
    if (open >= this.config.maxConnectionsPerUser) {
      return this.refuse(connection, 'connection_limit', `at most ${this.config.maxConnectionsPerUser} connections per user`, CloseCode.CONNECTION_LIMIT);
    }
    this.perUser.set(principal.userId, open + 1);
    connection.principal = principal;
    const c = this.config;
    connection.send({
      type: 'welcome',
      connectionId: connection.id,
      userId: principal.userId,
      accountIds: [...principal.accountIds],
      format: connection.codec.format,
      priceScale: PRICE_SCALE,
      heartbeatMs: c.heartbeatMs,
      heartbeatTimeoutMs: c.heartbeatTimeoutMs,
      limits: {
        maxSubscriptions: c.maxSubscriptionsPerConnection,
        maxMessageBytes: c.maxMessageBytes,
        maxMessagesPerSecond: c.maxMessagesPerSecond,
        maxSnapshotsPerSecond: c.maxSnapshotsPerSecond,
      },
    });
  }

  /**
   * Subscribes to each distinct channel that exists and is the caller's, within the subscription
   * limit and the snapshots allowed per second; answers an error frame per unknown channel, one for
   * the channels over a limit, then one `subscribed` frame with a snapshot per channel. Repeated
   * names cost nothing (one frame naming a bars channel 840 times read 840 snapshots: a 0.65 s
   * stall). The channel is joined before its snapshot is read, so no event falls between the two;
   * events that arrive meanwhile wait (pendingSnapshots) and follow the `subscribed` frame. A
   * recoverable channel named in `recover` answers the events missed since the client's offset
   * instead of a snapshot, when the stream still holds them all.
   */
  private async subscribe(connection: Connection, requested: string[], id: number | undefined, recover: Map<string, StreamPosition> | undefined): Promise<void> {
    const now = this.deps.clock.now();
    const max = this.config.maxSubscriptionsPerConnection;
    const joined = new Map<string, { read: () => Promise<Subscription> }>();
    let overLimit = 0;
    let overRate = 0;
    for (const name of new Set(requested)) {
      for (const { channel, snapshot } of this.resolve(connection, name, id)) {
        if (joined.has(channel)) continue;
        if (!connection.subscriptions.has(channel) && connection.subscriptions.size >= max) overLimit++;
        else if (!connection.admitSnapshot(now)) overRate++;
        else {
          connection.subscriptions.add(channel);
          const { seq } = this.registry.add(channel, connection);
          const read = recoverable(channel)
            ? () => this.streamSubscription(connection, channel, snapshot, recover?.get(channel))
            : async () => ({ channel, seq, snapshot: await snapshot() });
          joined.set(channel, { read });
        }
      }
    }
    if (overLimit > 0) this.error(connection, 'subscription_limit', `at most ${max} subscriptions per connection; ${overLimit} channel(s) not subscribed`, id);
    if (overRate > 0) {
      const perSecond = this.config.maxSnapshotsPerSecond;
      this.error(connection, 'rate_limited', `at most ${perSecond} snapshots per second; ${overRate} channel(s) not subscribed, subscribe to them again shortly`, id);
    }
    connection.pendingSnapshots++;
    const subscriptions: Subscription[] = [];
    try {
      const entries = [...joined];
      // A few reads at a time, yielding between them: each may be a query on the main thread.
      const slicer = new TimeSlicer(SNAPSHOT_SLICE_MS);
      for (let from = 0; from < entries.length && !connection.closed; from += SNAPSHOT_READS) {
        const chunk = entries.slice(from, from + SNAPSHOT_READS);
        const answers = await Promise.allSettled(chunk.map(([, j]) => j.read()));
        answers.forEach((result, i) => {
          const [channel] = chunk[i]!;
          if (result.status === 'fulfilled') return void subscriptions.push(result.value);
          this.deps.logger.error({ err: result.reason, channel }, 'websocket snapshot failed');
          this.leave(connection, channel);
          this.error(connection, 'internal', 'the snapshot could not be read; subscribe again', id, channel);
        });
        await slicer.pause();
      }
    } finally {
      connection.pendingSnapshots--;
    }
    // Always answered, even if empty, so a client awaiting this id learns the outcome.
    connection.send({ type: 'subscribed', id, subscriptions });
  }

  /**
   * A recoverable channel's answer: the events after the client's position when the stream still
   * holds them all, else (or without a position) a snapshot at the stream's current offset. The
   * offset is read before the snapshot, so the snapshot holds at least everything up to it; events
   * after it follow the answer (an event may then repeat what the snapshot already shows, as before).
   */
  private async streamSubscription(connection: Connection, channel: string, snapshot: () => Promise<unknown> | unknown, from: StreamPosition | undefined): Promise<Subscription> {
    const { stream, logger } = this.deps;
    let position: StreamPosition | undefined;
    let failure: RecoveryFailure | undefined;
    if (from) {
      const recovery = await stream.since(channel, from);
      if (recovery.recovered) {
        const { offset, epoch } = recovery.position;
        connection.sentThrough(channel, offset);
        return { channel, seq: offset, offset, epoch, recovered: true, publications: recovery.entries.map(streamMessage) };
      }
      ({ position, reason: failure } = recovery);
    } else {
      position = await stream.position(channel).catch((error: unknown) => void logger.warn({ err: error, channel }, 'event stream position unavailable: snapshot without offset'));
    }
    const data = await snapshot();
    if (position) connection.sentThrough(channel, position.offset);
    const answer: Subscription = { channel, seq: position?.offset ?? 0, offset: position?.offset, epoch: position?.epoch, snapshot: data };
    return failure ? { ...answer, recovered: false, recoveryError: failure } : answer;
  }

  private unsubscribe(connection: Connection, requested: string[], id: number | undefined): void {
    const left: string[] = [];
    for (const name of requested) {
      for (const { channel } of this.resolve(connection, name, id)) {
        if (connection.subscriptions.has(channel)) {
          this.leave(connection, channel);
          left.push(channel);
        }
      }
    }
    connection.send({ type: 'unsubscribed', id, channels: left });
  }

  private leave(connection: Connection, channel: string): void {
    connection.subscriptions.delete(channel);
    connection.forget(channel);
    this.registry.remove(channel, connection);
  }

  /**
   * Concrete channels for a requested name with their snapshot readers: `orders`/`portfolio` mean
   * every account of the caller. Unknown symbols and other users' accounts get the same error, so
   * account ids cannot be probed.
   */
  private resolve(connection: Connection, name: string, id: number | undefined): { channel: string; snapshot: () => Promise<unknown> | unknown }[] {
    const ref = parseChannel(name);
    const principal = connection.principal!;
    const { marketData, snapshots, clock } = this.deps;
    const feed = this.metricsFeed;
    // Admins only; to anyone else it is as unknown as another user's account.
    if (ref?.kind === 'metrics' && feed && principal.role === 'admin') return [{ channel: METRICS_CHANNEL, snapshot: () => feed.snapshot(true) }];
    if (ref && (ref.kind === 'quotes' || ref.kind === 'bars') && marketData.findInstrument(ref.symbol)) {
      const symbol = ref.symbol;
      if (ref.kind === 'bars') return [{ channel: `bars:${symbol}:1m`, snapshot: () => barSnapshot(marketData, symbol, clock.now()) }];
      const channel = `quotes:${symbol}`;
      return [{ channel, snapshot: () => this.registry.last(channel) ?? quoteSnapshot(marketData, symbol) }];
    }
    if (ref && (ref.kind === 'orders' || ref.kind === 'portfolio') && (ref.accountId === undefined || principal.accountIds.includes(ref.accountId))) {
      const kind = ref.kind;
      const accounts = ref.accountId === undefined ? principal.accountIds : [ref.accountId];
      return accounts.map((account) => ({ channel: `${kind}:${account}`, snapshot: () => snapshots[kind](account) }));
    }
    this.error(connection, 'unknown_channel', `no channel "${name.slice(0, 64)}" for this user`, id, name.slice(0, 64));
    return [];
  }

  private error(connection: Connection, code: ErrorCode, message: string, id?: number, channel?: string): void {
    connection.send({ type: 'error', id, code, message, channel });
  }

  /** Error frame, then close: the client learns why before the socket goes. */
  private refuse(connection: Connection, code: ErrorCode, message: string, closeCode: number): void {
    this.error(connection, code, message);
    connection.close(closeCode, message);
  }

  private flush(): void {
    const now = this.deps.clock.now();
    this.metrics.roll(now);
    this.registry.dispatch();
    // Swap sets: connections that become busy during this loop land in the fresh one.
    const busy = this.busy;
    this.busy = this.spare;
    for (const connection of busy) {
      const outcome = connection.flush(now, this.config);
      if (outcome === 'pending') this.busy.add(connection);
      else if (outcome === 'slow') {
        this.metrics.slowConsumerCloses++;
        connection.close(CloseCode.SLOW_CONSUMER, 'slow consumer: could not keep up with the stream');
      }
    }
    busy.clear();
    this.spare = busy;
  }

  /** Publishes a fresh snapshot on the metrics channel when someone watches it (state channel: the next flush sends it). */
  private publishMetrics(): void {
    const feed = this.metricsFeed;
    if (!feed || this.metricsPending || !this.registry.watched(METRICS_CHANNEL)) return;
    this.metricsPending = true;
    feed
      .snapshot(false)
      .then(
        (data) => this.registry.publish(METRICS_CHANNEL, data, this.deps.clock.now()),
        (error: unknown) => this.deps.logger.warn({ err: error }, 'metrics snapshot failed'),
      )
      .finally(() => (this.metricsPending = false));
  }

  private sweep(): void {
    const now = this.deps.clock.now();
    for (const connection of this.connections) {
      const silent = now - connection.lastSeen;
      if (silent >= this.config.heartbeatTimeoutMs) {
        this.metrics.reaped++;
        connection.terminate();
        this.release(connection);
      } else if (silent >= this.config.heartbeatMs) {
        // Adaptive: only idle connections are pinged; traffic from the client already proves it alive.
        connection.ping();
      }
    }
  }
}

/** The subscribe frame's `recover` field: undefined when absent, 'invalid' when malformed. */
function recoverPositions(recover: unknown): Map<string, StreamPosition> | undefined | 'invalid' {
  if (recover === undefined) return undefined;
  if (typeof recover !== 'object' || recover === null || Array.isArray(recover)) return 'invalid';
  const entries = Object.entries(recover);
  if (entries.length > MAX_RECOVER_CHANNELS) return 'invalid';
  const positions = new Map<string, StreamPosition>();
  for (const [channel, position] of entries) {
    const { offset, epoch } = (position ?? {}) as { offset?: unknown; epoch?: unknown };
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || typeof epoch !== 'string' || epoch.length > 32) return 'invalid';
    positions.set(channel, { offset, epoch });
  }
  return positions;
}
