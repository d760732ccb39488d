/**
 * The embedded event stream: one process, channels held in memory, each with its last
 * `historySize` entries younger than `retentionMs`. Its epoch is drawn at every start, so a client
 * that reconnects after a restart is told recovery is impossible and gets a snapshot (the history
 * did not survive). Delivery is synchronous, on the publisher's tick, as the in-process bus is.
 */
import { randomBytes } from 'node:crypto';
import { recoverFrom, type EventStream, type Recovery, type StreamEntry, type StreamPosition, type StreamRetention, type StreamStats } from './event-stream.ts';

interface ChannelLog {
  offset: number;
  entries: StreamEntry[];
  /** Append time of each retained entry, for the age limit. */
  times: number[];
}

export class MemoryEventStream implements EventStream {
  readonly kind = 'memory' as const;
  readonly epoch = randomBytes(4).toString('hex');
  private readonly channels = new Map<string, ChannelLog>();
  private readonly handlers = new Set<(entry: StreamEntry) => void>();
  private appended = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly retention: StreamRetention,
    private readonly origin: string,
    private readonly now: () => number = Date.now,
  ) {}

  append(channel: string, topic: string, data: unknown): void {
    let log = this.channels.get(channel);
    if (!log) this.channels.set(channel, (log = { offset: 0, entries: [], times: [] }));
    const entry: StreamEntry = { channel, offset: ++log.offset, epoch: this.epoch, topic, data, origin: this.origin };
    log.entries.push(entry);
    log.times.push(this.now());
    this.trim(log);
    this.appended++;
    for (const handler of this.handlers) handler(entry);
  }

  onEntry(handler: (entry: StreamEntry) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async position(channel: string): Promise<StreamPosition> {
    return { offset: this.channels.get(channel)?.offset ?? 0, epoch: this.epoch };
  }

  async since(channel: string, from: StreamPosition): Promise<Recovery> {
    const log = this.channels.get(channel);
    if (log) this.trim(log);
    return recoverFrom(log?.entries ?? [], { offset: log?.offset ?? 0, epoch: this.epoch }, from);
  }

  /** Trims idle channels too (a channel trims itself only when it is written or read). */
  async start(): Promise<void> {
    this.sweeper ??= setInterval(() => {
      // An emptied channel keeps its offset (a number per account): offsets never restart within an epoch.
      for (const log of this.channels.values()) this.trim(log);
    }, Math.min(60_000, Math.max(1_000, this.retention.retentionMs / 4))).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.handlers.clear();
  }

  stats(): StreamStats {
    return { kind: 'memory', connected: true, appended: this.appended, buffered: 0, bufferLimit: 0, dropped: 0, consumed: this.appended, lagMs: 0 };
  }

  private trim(log: ChannelLog): void {
    const oldest = this.now() - this.retention.retentionMs;
    let cut = Math.max(0, log.entries.length - this.retention.historySize);
    while (cut < log.times.length && log.times[cut]! < oldest) cut++;
    if (cut > 0) {
      log.entries.splice(0, cut);
      log.times.splice(0, cut);
    }
  }
}
