/**
 * One client connection: who it is, what it subscribed to, what it has yet to be sent, and the
 * per-connection guards (message rate, send-buffer pressure). Transport-agnostic so the delivery
 * rules can be tested without sockets; `ws` sockets satisfy `Transport` as they are.
 */
import type { Principal } from '../auth/principal.ts';
import type { Codec, Outgoing } from './codec.ts';
import type { RealtimeMetrics } from './metrics.ts';
import { Outbox } from './outbox.ts';
import { CloseCode, type ServerFrame } from './protocol.ts';
import { TokenBucket } from '../kernel/token-bucket.ts';

export interface Transport {
  /** Bytes accepted by send() but not yet written to the network. */
  readonly bufferedAmount: number;
  /** `written` runs once the frame has left (or failed): frames still compressing or queued are in flight. */
  send(data: string | Buffer, written: (error?: Error) => void): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export interface DeliveryLimits {
  sendBufferSoftBytes: number;
  sendBufferHardBytes: number;
  slowConsumerMs: number;
}

/** Per-connection guards on what the client asks for. */
export interface ConnectionLimits {
  maxMessagesPerSecond: number;
  /** Snapshots (subscribe answers) read per second: each may be a store query. */
  maxSnapshotsPerSecond: number;
  /** Unsent bytes past which the connection is closed, whatever frame would add to them. */
  sendBufferHardBytes: number;
}

export type FlushOutcome = 'idle' | 'sent' | 'pending' | 'slow';

/**
 * Frames sent but not yet written. With permessage-deflate a frame waits for zlib's thread pool before
 * bufferedAmount sees it; at 1,000 connections the compression backlog grew to 12 s of latency and
 * 1 GiB while every buffer stayed under the soft limit. Counting frames in flight makes that backlog
 * congestion too: quotes conflate until the frames drain, so latency stays bounded.
 */
export const MAX_FRAMES_IN_FLIGHT = 2;

export class Connection {
  principal: Principal | undefined;
  readonly subscriptions = new Set<string>();
  lastSeen: number;
  closed = false;
  /** Subscriptions waiting for an asynchronous snapshot: nothing is flushed before their `subscribed` frame. */
  pendingSnapshots = 0;
  /** Frames that arrived while an `auth` frame was being checked: handled in order after `welcome`. */
  awaitingAuth: { frame: Record<string, unknown>; id: number | undefined }[] | undefined;
  /** The client's address (as the HTTP layer saw it, behind trusted proxies): failed `auth` frames count against it. */
  address: string | undefined;
  private readonly outbox = new Outbox();
  /** Recoverable channels: the last offset handed to this connection (an older or equal one is not sent again). */
  private readonly offsets = new Map<string, number>();
  private congestedSince: number | undefined;
  private framesInFlight = 0;
  private readonly written = (): void => {
    this.framesInFlight--;
  };
  private readonly messages: TokenBucket;
  private readonly snapshots: TokenBucket;
  private rateErrorAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly id: string,
    private readonly transport: Transport,
    readonly codec: Codec,
    private readonly metrics: RealtimeMetrics,
    /** Called when the outbox goes from empty to non-empty, so the flush loop visits only busy connections. */
    private readonly onPending: (connection: Connection) => void,
    private readonly limits: ConnectionLimits,
    now: number,
  ) {
    this.lastSeen = now;
    this.messages = new TokenBucket(limits.maxMessagesPerSecond, now);
    this.snapshots = new TokenBucket(limits.maxSnapshotsPerSecond, now);
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  deliver(message: Outgoing, conflate: boolean): void {
    const { channel, offset } = message.message;
    if (offset !== undefined) {
      const last = this.offsets.get(channel);
      if (last !== undefined && offset <= last) return;
      this.offsets.set(channel, offset);
    }
    const wasEmpty = this.outbox.size === 0;
    if (this.outbox.push(message, conflate)) this.metrics.conflated++;
    if (wasEmpty) this.onPending(this);
  }

  forget(channel: string): void {
    this.outbox.forget(channel);
    this.offsets.delete(channel);
  }

  /**
   * A recoverable channel's subscribe answer holds everything up to `offset` (snapshot or recovered
   * events): live events through it that arrived while it was read are not sent again.
   */
  sentThrough(channel: string, offset: number): void {
    this.outbox.dropThrough(channel, offset);
    this.offsets.set(channel, Math.max(offset, this.offsets.get(channel) ?? 0));
  }

  /**
   * Sends a reply frame (welcome, subscribed, error…). Replies count against the send-buffer limit
   * like the stream does: a client that keeps sending frames without reading the answers (error
   * frames grew one buffer to 116 MB) is closed with 1008 once its unsent bytes pass the hard limit.
   */
  send(frame: ServerFrame): void {
    if (this.closed) return;
    if (frame.type === 'error') this.metrics.errorFrames++;
    const data = this.codec.encode(frame);
    if (this.transport.bufferedAmount + data.length > this.limits.sendBufferHardBytes) {
      this.metrics.slowConsumerCloses++;
      return this.close(CloseCode.POLICY_VIOLATION, 'send buffer over its limit: the client does not read its messages');
    }
    this.write(data);
  }

  /** Takes one snapshot from the per-second allowance (false: over it). */
  admitSnapshot(now: number): boolean {
    return this.snapshots.take(now);
  }

  private write(data: string | Buffer): void {
    this.framesInFlight++;
    this.transport.send(data, this.written);
  }

  /**
   * Token bucket over client messages (burst = one second's allowance). Returns 'ok', or 'limited'
   * at most once a second (answer with an error frame) and 'silent' otherwise, so a flooding
   * client cannot make the server amplify its flood into error frames.
   */
  admit(now: number): 'ok' | 'limited' | 'silent' {
    if (this.messages.take(now)) return 'ok';
    if (now - this.rateErrorAt < 1000) return 'silent';
    this.rateErrorAt = now;
    return 'limited';
  }

  /**
   * Sends what is pending as one batch frame. Above the soft send-buffer limit only ordered (never
   * conflated) events go out and quotes keep conflating; past the hard limit, or congested for
   * longer than slowConsumerMs, the outcome is 'slow' and the caller closes the connection.
   */
  flush(now: number, limits: DeliveryLimits): FlushOutcome {
    if (this.pendingSnapshots > 0) return 'pending';
    const buffered = this.transport.bufferedAmount;
    if (buffered > limits.sendBufferHardBytes) return 'slow';
    const congested = buffered > limits.sendBufferSoftBytes || this.framesInFlight >= MAX_FRAMES_IN_FLIGHT;
    if (congested) {
      this.congestedSince ??= now;
      if (now - this.congestedSince > limits.slowConsumerMs) return 'slow';
    } else {
      this.congestedSince = undefined;
    }
    const messages = this.outbox.take(!congested);
    if (messages.length > 0) {
      const frame = this.codec.batch(messages);
      this.write(frame);
      // JSON frames are ASCII here (symbols, numbers, ids), so length is the byte count.
      this.metrics.recordSent(messages.length, frame.length);
      for (const message of messages) this.metrics.recordLatency(now - message.ts);
    }
    return this.outbox.size > 0 ? 'pending' : messages.length > 0 ? 'sent' : 'idle';
  }

  /** Closes with a code and reason; pending events are counted as dropped. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.markClosed();
    this.transport.close(code, reason);
  }

  /** Drops a dead connection without a closing handshake (it would never complete). */
  terminate(): void {
    if (this.closed) return;
    this.markClosed();
    this.transport.terminate();
  }

  ping(): void {
    this.transport.ping();
  }

  /** The transport closed on its own (client left); idempotent with close()/terminate(). */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.metrics.dropped += this.outbox.discard();
  }
}
