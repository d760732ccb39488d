/**
 * Order-book snapshots in Redis (issue 22 item 5): the feed leader writes each symbol's best bid and
 * ask with the quoted depth, conflated (the latest state of every symbol that ticked in one turn of
 * the event loop, one SET each, auto-pipelined: one write per turn, per node on a cluster), so any
 * instance or outside reader gets a symbol's book with one GET. Only the leader writes, so a
 * follower's copy of the leader's ticks never races it; a deposed leader stops with its feed.
 *
 * The simulated feed quotes one level a side, so `depth` holds one level today; the format is a
 * ladder (best first) for a feed that quotes more.
 */
import type { Logger } from 'pino';
import type { MessageBus } from '../kernel/bus.ts';
import { fromUnits } from '../kernel/money.ts';
import { failFastRedisClient, type RedisClient } from '../kernel/redis-client.ts';
import type { Quote, QuoteBook } from './quote-book.ts';

export interface BookLevel {
  price: number;
  size: number;
}

/** What is stored per symbol (JSON, prices in currency units like the quote route's answer). */
export interface BookSnapshot {
  symbol: string;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  last: number;
  /** Epoch ms of the tick this state comes from, and the leader's book sequence of it. */
  ts: number;
  seq: number;
  depth: { bids: BookLevel[]; asks: BookLevel[] };
}

export interface BookSnapshotOptions {
  url: string;
  /** Keys are `<prefix>book:<SYMBOL>`; one per symbol (each in its own slot on a cluster). */
  prefix: string;
  timeoutMs: number;
  /** A snapshot nobody refreshes (no leader, market closed for long) expires after this. */
  ttlMs: number;
  book: QuoteBook;
  bus: MessageBus;
  /** Whether this instance leads the feed: only the leader's own ticks are written. */
  leading: () => boolean;
  logger: Logger;
}

export class BookSnapshots {
  private readonly redis: RedisClient;
  /** Instruments that ticked since the last flush (by id), each written once with its latest state. */
  private readonly dirty: Uint8Array;
  private dirtyIds: number[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly unsubscribe: () => void;
  private readonly counts = { written: 0, flushes: 0, failedWrites: 0, reads: 0, failedReads: 0 };

  constructor(private readonly options: BookSnapshotOptions) {
    // Failures are counted per write and read (stats()).
    this.redis = failFastRedisClient(options.url, options.timeoutMs);
    this.dirty = new Uint8Array(options.book.size + 1);
    this.unsubscribe = options.bus.subscribe('quote.*', (tick, _topic, remote) => {
      if (remote || !options.leading()) return;
      // By symbol, as the book knows it: a tick's id is only as good as its publisher.
      const id = options.book.idOf(tick.symbol);
      if (id === undefined || this.dirty[id]) return;
      this.dirty[id] = 1;
      this.dirtyIds.push(id);
      this.schedule();
    });
  }

  async connect(): Promise<void> {
    await this.redis.connect().catch(() => {});
  }

  /** One symbol's book as the leader last wrote it; undefined when absent or Redis does not answer. */
  async read(symbol: string): Promise<BookSnapshot | undefined> {
    this.counts.reads++;
    try {
      const raw = await this.redis.get(this.key(symbol));
      return raw === null ? undefined : (JSON.parse(raw) as BookSnapshot);
    } catch {
      this.counts.failedReads++;
      return undefined;
    }
  }

  stats(): typeof this.counts & { pending: number } {
    return { ...this.counts, pending: this.dirtyIds.length };
  }

  /** Writes what is pending, then stops listening and closes the connection. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.flushing;
    if (this.dirtyIds.length > 0) await this.flush();
    this.redis.disconnect();
  }

  private key(symbol: string): string {
    return `${this.options.prefix}book:${symbol}`;
  }

  /** At most one flush in flight: ticks during it are conflated into the next one. */
  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'book snapshots not written'))
        .finally(() => {
          this.flushing = undefined;
          if (this.dirtyIds.length > 0) this.schedule();
        });
    });
  }

  private async flush(): Promise<void> {
    const ids = this.dirtyIds;
    this.dirtyIds = [];
    for (const id of ids) this.dirty[id] = 0;
    this.counts.flushes++;
    const { ttlMs } = this.options;
    // Issued in one turn: ioredis sends them as one pipeline (per node on a cluster).
    const results = await Promise.allSettled(ids.map((id) => this.redis.set(this.key(this.options.book.symbolOf(id)!), JSON.stringify(bookOf(this.options.book.get(id)!)), 'PX', ttlMs)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    this.counts.written += results.length - failed;
    this.counts.failedWrites += failed;
    // A lost write is not retried: the symbol's next tick writes its newer state.
    if (failed > 0) this.options.logger.debug({ failed }, 'book snapshots not written');
  }
}

/** A quote as a book snapshot: one level a side, which is what the feed quotes. */
export function bookOf(q: Quote): BookSnapshot {
  const bid = fromUnits(q.bid);
  const ask = fromUnits(q.ask);
  return {
    symbol: q.symbol,
    bid,
    ask,
    bidSize: q.bidSize,
    askSize: q.askSize,
    last: fromUnits(q.last),
    ts: q.ts,
    seq: q.seq,
    depth: { bids: [{ price: bid, size: q.bidSize }], asks: [{ price: ask, size: q.askSize }] },
  };
}
