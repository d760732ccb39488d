/**
 * The durable event stream (issue 22): per-account order, fill and portfolio events carried
 * between instances with offsets, retained for a bounded time and length, so a consumer resumes
 * from its last offset after an outage and a WebSocket client recovers exactly what it missed.
 *
 * A stream is a set of named channels (`orders:<accountId>`, `portfolio:<accountId>`). Every
 * entry gets the next offset of its channel (1, 2, 3 …, no holes) and the stream's epoch: an
 * offset means something only within its epoch. The epoch changes when the stream's state is lost
 * (the embedded stream at every start; Redis when its keys were flushed or expired), and then no
 * recovery across it is possible.
 *
 * Adapters: `MemoryEventStream` (one process, the embedded default) and `RedisEventStream` (Redis
 * Streams, scaled mode; see docs/architecture.md "Durable event stream" for why Redis Streams).
 */

export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface StreamEntry extends StreamPosition {
  channel: string;
  /** The bus topic the event was published on (`order.12`). */
  topic: string;
  data: unknown;
  /** The instance that appended it. */
  origin: string;
}

export type Recovery =
  | { recovered: true; entries: StreamEntry[]; position: StreamPosition }
  /** `position` is the channel's current one when the stream answered, for the snapshot that replaces the history. */
  | { recovered: false; reason: RecoveryFailure; position: StreamPosition | undefined };

/** Why missed events cannot be replayed: the offset is of another epoch, older than the retention, or the stream is unreachable. */
export type RecoveryFailure = 'epoch_changed' | 'offset_expired' | 'unavailable';

export interface StreamStats {
  kind: 'memory' | 'redis';
  /** Whether the stream's store is reachable (always for the in-memory one). */
  connected: boolean;
  /** Entries handed to the stream by this instance. */
  appended: number;
  /** Waiting to be written (the store is away or busy); bounded by `bufferLimit`. */
  buffered: number;
  bufferLimit: number;
  /** Entries refused because the buffer was full: never written, never delivered. */
  dropped: number;
  /** Entries read from the stream (every instance's, this one's included). */
  consumed: number;
  /** Age of the last consumed entry when it was read (append → consume), in ms. */
  lagMs: number;
}

export interface EventStream {
  readonly kind: 'memory' | 'redis';
  /** Appends an event to a channel; it is delivered to `onEntry` handlers (on every instance) once it has its offset. */
  append(channel: string, topic: string, data: unknown): void;
  /** Every entry of every channel, each channel's in offset order, from this instance and the others. */
  onEntry(handler: (entry: StreamEntry) => void): () => void;
  /** The channel's last offset (0 before its first entry) and the epoch. */
  position(channel: string): Promise<StreamPosition>;
  /** The entries after `from`, or why they cannot be replayed. */
  since(channel: string, from: StreamPosition): Promise<Recovery>;
  start(): Promise<void>;
  close(): Promise<void>;
  stats(): StreamStats;
}

export interface StreamRetention {
  /** Entries kept per channel for recovery. */
  historySize: number;
  /** Entries older than this are not replayed (and are trimmed). */
  retentionMs: number;
}

/** Decides from a channel's retained entries (ascending offsets) whether `from` can be recovered. */
export function recoverFrom(entries: readonly StreamEntry[], top: StreamPosition, from: StreamPosition): Recovery {
  if (from.epoch !== top.epoch) return { recovered: false, reason: 'epoch_changed', position: top };
  if (from.offset > top.offset) return { recovered: false, reason: 'epoch_changed', position: top };
  const missed = entries.filter((entry) => entry.offset > from.offset);
  // The first missed entry must directly follow the client's offset, and the last must be the top.
  const complete = from.offset === top.offset || (missed.length > 0 && missed[0]!.offset === from.offset + 1 && missed.at(-1)!.offset === top.offset);
  return complete ? { recovered: true, entries: missed, position: top } : { recovered: false, reason: 'offset_expired', position: top };
}
