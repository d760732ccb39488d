/**
 * The MarketData engine: the instrument universe, latest quotes in memory, the simulated feed,
 * 1-minute bar aggregation and persistence. Routes and other engines read from it; the feed
 * publishes every tick on the bus (`quote.<SYMBOL>`).
 *
 * One market: only the feed leader runs the feed, aggregates and writes bars and snapshots quotes.
 * A follower applies the leader's ticks (bridged `quote.*`) to its book exactly as local ones, so
 * every instance quotes the same prices; a follower that becomes leader continues from them.
 * Alone (no bridge), an instance leads from start() for good.
 */
import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { TachyonConfig } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { MessageBus } from '../kernel/bus.ts';
import type { Clock } from '../kernel/clock.ts';
import { BadRequestError, NotFoundError } from '../kernel/errors.ts';
import type { Bar, BarBatch } from './bar.ts';
import { BarAggregator } from './bar-aggregator.ts';
import { BarStore, type Interval } from './bar-store.ts';
import { BarWriter } from './bar-writer.ts';
import { MarketFeed, type Tick } from './feed.ts';
import { HistoryLoader } from './history-loader.ts';
import { InstrumentStore, type QuoteSnapshot, type StoredInstrument } from './instrument-store.ts';
import { MarketClock } from './market-clock.ts';
import { QuoteBook, type Quote } from './quote-book.ts';
import { buildUniverse } from './universe.ts';

/**
 * How often the leader saves the quotes that changed. The snapshot only lets a restart continue from
 * recent prices (the feed walks on from there; a clean stop writes the last ones), so its age matters
 * little, while its cost is per row: every second it upserted ~1,200 of the 2,000 symbols, 27 ms of
 * the engine thread's CPU each second on an idle instance; every 5 s it is ~2,000 rows, 12 ms a second
 * (docs/benchmarks.md, "The cached read's distance, decomposed").
 */
const QUOTE_SNAPSHOT_MS = 5_000;
/**
 * Quotes per snapshot statement. The embedded engine runs a statement synchronously on the main
 * thread (~40–100 ms for 2,000 quotes), stalling the feed and the WebSocket flush; chunks with a
 * yield between them keep each stall to a few ms.
 */
const QUOTE_SNAPSHOT_CHUNK = 250;

export interface MarketDataDeps {
  db: Database;
  bus: MessageBus;
  clock: Clock;
  logger: Logger;
  market: TachyonConfig['market'];
}

/** What readiness and health report about the market feed. */
export interface FeedStatus {
  role: 'leader' | 'follower';
  /** The feed lease's epoch while leading under a lease (none when alone). */
  epoch: number | undefined;
  /** Since the last tick this instance generated or received (none yet: undefined). */
  lastTickAgeMs: number | undefined;
}

export interface InstrumentFilter {
  search?: string;
  sector?: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export class MarketData {
  readonly instruments: readonly StoredInstrument[];
  readonly book: QuoteBook;
  readonly marketClock: MarketClock;
  readonly feed: MarketFeed;
  readonly barStore: BarStore;
  readonly barWriter: BarWriter;
  /** Background history loading (first start, `tachyon seed` through the API) and its progress. */
  readonly history: HistoryLoader;
  private readonly aggregator: BarAggregator;
  private readonly bySymbol: Map<string, StoredInstrument>;
  private readonly sortedBySymbol: readonly StoredInstrument[];
  private readonly store: InstrumentStore;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotSeq = 0;
  private snapshotting: Promise<void> | undefined;
  private leading = false;
  private epoch: number | undefined;
  /** Whether the lease this instance leads under is still valid (checked before every feed step). */
  private leaseValid: () => boolean = () => true;
  private lastTickTs: number | undefined;
  private readonly clock: Clock;

  private constructor(deps: MarketDataDeps, instruments: StoredInstrument[], store: InstrumentStore) {
    this.instruments = instruments;
    this.clock = deps.clock;
    this.store = store;
    this.bySymbol = new Map(instruments.map((i) => [i.symbol, i]));
    this.sortedBySymbol = [...instruments].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
    this.book = new QuoteBook(instruments);
    this.marketClock = new MarketClock(deps.market.hours);
    this.barStore = new BarStore(deps.db);
    this.history = new HistoryLoader({ db: deps.db, instruments, marketClock: this.marketClock, clock: deps.clock, logger: deps.logger, seed: deps.market.seed });
    this.barWriter = new BarWriter(this.barStore, deps.clock, deps.logger, (batch) => publishBars(deps.bus, this.book, batch));
    this.aggregator = new BarAggregator(instruments.length, (batch: BarBatch) => this.barWriter.enqueue(batch));
    this.feed = new MarketFeed({
      instruments,
      book: this.book,
      clock: deps.clock,
      marketClock: this.marketClock,
      bus: deps.bus,
      aggregator: this.aggregator,
      ticksPerSecond: deps.market.tickRate,
      seed: deps.market.seed,
      active: () => this.leaseValid(),
    });
    // Subscribed before any other engine, so the paper broker and the gateway see the book updated.
    deps.bus.subscribe('quote.*', (tick, _topic, remote) => this.onTick(tick, remote));
  }

  /** Loads the universe from the database (creating it on first start) and restores the last quotes. */
  static async create(deps: MarketDataDeps): Promise<MarketData> {
    const store = new InstrumentStore(deps.db);
    if ((await store.count()) < deps.market.instruments) {
      await store.insertMissing(buildUniverse(deps.market.instruments, deps.market.seed));
    }
    const instruments = await store.loadAll();
    const service = new MarketData(deps, instruments, store);
    for (const q of await store.loadQuotes()) service.book.update(q.instrumentId, q.bid, q.ask, q.last, 0, q.ts);
    service.snapshotSeq = service.book.seq;
    return service;
  }

  /** Leads for good: the only instance (no bridge to share a feed over). */
  start(): void {
    this.runFeed();
  }

  /**
   * Becomes the feed leader under a lease: continues every price from the book (the ticks the
   * previous leader published), and generates nothing once `valid` says the lease may have lapsed.
   */
  lead(epoch: number, valid: () => boolean): void {
    this.epoch = epoch;
    this.leaseValid = valid;
    this.feed.resume();
    this.runFeed();
  }

  /**
   * Stops leading (lease lost or handed back): the feed stops, and the bars in progress and the last
   * quotes are written now. Another leader's row for the same minute is then the one dropped (bars
   * insert with ON CONFLICT DO NOTHING), and a snapshot never moves a quote back.
   */
  async follow(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.epoch = undefined;
    await this.halt();
  }

  /**
   * Stops the feed and writes everything pending: closed bars, the open minute, the last quotes (a
   * follower's are the leader's, and a snapshot never moves a quote back).
   */
  async stop(): Promise<void> {
    this.leading = false;
    await this.halt();
  }

  /** Whether this instance runs the feed (status() without its allocation, for per-tick checks). */
  get isLeader(): boolean {
    return this.leading;
  }

  status(): FeedStatus {
    return {
      role: this.leading ? 'leader' : 'follower',
      epoch: this.epoch,
      lastTickAgeMs: this.lastTickTs === undefined ? undefined : Math.max(0, this.clock.now() - this.lastTickTs),
    };
  }

  private runFeed(): void {
    this.leading = true;
    this.feed.start();
    this.snapshotTimer ??= setInterval(() => void this.snapshotQuotes(), QUOTE_SNAPSHOT_MS);
    this.snapshotTimer.unref();
  }

  private async halt(): Promise<void> {
    this.feed.stop();
    clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    this.aggregator.flush(Number.MAX_SAFE_INTEGER);
    await this.barWriter.drain();
    await this.snapshotting;
    await this.snapshotQuotes();
  }

  private onTick(tick: Tick, remote: boolean): void {
    if (remote) {
      // The leader's own feed is the truth: a tick from a deposed leader is dropped.
      if (this.leading) return;
      const id = this.book.idOf(tick.symbol);
      if (id === undefined) return;
      this.book.update(id, tick.bid, tick.ask, tick.last, tick.size, tick.ts, tick.bidSize, tick.askSize);
    }
    this.lastTickTs = tick.ts;
  }

  instrument(symbol: string): StoredInstrument {
    const instrument = this.bySymbol.get(symbol.toUpperCase());
    if (!instrument) throw new NotFoundError(`unknown symbol ${symbol}`, { symbol });
    return instrument;
  }

  findInstrument(symbol: string): StoredInstrument | undefined {
    return this.bySymbol.get(symbol.toUpperCase());
  }

  listInstruments(filter: InstrumentFilter): { items: StoredInstrument[]; nextCursor: string | undefined } {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const search = filter.search?.trim().toUpperCase();
    const sector = filter.sector?.toLowerCase();
    const items: StoredInstrument[] = [];
    let start = 0;
    if (after !== undefined) {
      // Binary search the first symbol after the cursor.
      let lo = 0;
      let hi = this.sortedBySymbol.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.sortedBySymbol[mid]!.symbol <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    let i = start;
    for (; i < this.sortedBySymbol.length && items.length < filter.limit; i++) {
      const instrument = this.sortedBySymbol[i]!;
      if (sector && instrument.sector.toLowerCase() !== sector) continue;
      if (search && !instrument.symbol.startsWith(search) && !instrument.name.toUpperCase().includes(search)) continue;
      items.push(instrument);
    }
    const more = items.length === filter.limit && i < this.sortedBySymbol.length;
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.symbol) : undefined };
  }

  sectors(): string[] {
    return [...new Set(this.instruments.map((i) => i.sector))].sort();
  }

  quote(symbol: string): Quote {
    return this.book.get(this.instrument(symbol).id)!;
  }

  /** The latest quote of a symbol, or undefined for an unknown one (no error built: the fast lane's lookup). */
  findQuote(symbol: string): Quote | undefined {
    const instrument = this.bySymbol.get(symbol.toUpperCase());
    return instrument && this.book.get(instrument.id);
  }

  /** Quotes for many symbols; unknown symbols answer 404 naming every one of them. */
  quotes(symbols: readonly string[] | undefined): Quote[] {
    if (!symbols) return this.instruments.map((i) => this.book.get(i.id)!);
    const unknown = symbols.filter((s) => !this.bySymbol.has(s.toUpperCase()));
    if (unknown.length > 0) throw new NotFoundError(`unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { symbols: unknown });
    return symbols.map((s) => this.book.get(this.bySymbol.get(s.toUpperCase())!.id)!);
  }

  /** While history loads, an empty or short answer (fewer than `limit` latest bars) is a 503 "history is loading". */
  async bars(symbol: string, interval: Interval, range: { from?: number; to: number; limit: number }): Promise<Bar[]> {
    const instrument = this.instrument(symbol);
    const bars = await this.barStore.query({ instrumentId: instrument.id, interval, ...range });
    if (this.history.loading && (bars.length === 0 || (range.from === undefined && bars.length < range.limit))) throw this.history.loadingError()!;
    return bars;
  }

  private snapshotQuotes(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const ids = this.book.changedSince(this.snapshotSeq);
    if (ids.length === 0) return Promise.resolve();
    this.snapshotSeq = this.book.seq;
    const quotes = ids.map((id) => {
      const q = this.book.get(id)!;
      return { instrumentId: id, bid: q.bid, ask: q.ask, last: q.last, volume: q.volume, ts: q.ts };
    });
    this.snapshotting = this.saveQuotesInChunks(quotes)
      .catch(() => {
        // Snapshots are best effort (the feed regenerates prices); the next one retries these symbols.
        this.snapshotSeq = 0;
      })
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }

  private async saveQuotesInChunks(quotes: QuoteSnapshot[]): Promise<void> {
    for (let i = 0; i < quotes.length; i += QUOTE_SNAPSHOT_CHUNK) {
      if (i > 0) await setImmediate(); // the embedded engine answers on microtasks: let timers and sockets run
      await this.store.saveQuotes(quotes.slice(i, i + QUOTE_SNAPSHOT_CHUNK));
    }
  }
}

function encodeCursor(symbol: string): string {
  return Buffer.from(symbol).toString('base64url');
}

/** A cursor this API issued decodes to a symbol and encodes back to itself; anything else is a 400. */
function decodeCursor(cursor: string): string {
  const symbol = Buffer.from(cursor, 'base64url').toString();
  if (!/^[A-Z0-9.-]{1,16}$/.test(symbol) || encodeCursor(symbol) !== cursor) throw new BadRequestError('query.cursor is not a cursor this API issued: pass nextCursor from the previous page');
  return symbol;
}

/** `bar.1m.<SYMBOL>` for each durable bar of a batch, shaped like the bars the store returns. */
function publishBars(bus: MessageBus, book: QuoteBook, batch: BarBatch): void {
  for (let i = 0; i < batch.length; i++) {
    const symbol = book.symbolOf(batch.instrumentId[i]!);
    if (symbol === undefined) continue;
    const bar: Bar = { ts: batch.ts[i]!, open: batch.open[i]!, high: batch.high[i]!, low: batch.low[i]!, close: batch.close[i]!, volume: batch.volume[i]! };
    bus.publish(`bar.1m.${symbol}`, bar);
  }
}
