/**
 * Simulated market-data feed. While the market is open it emits ticks at `ticksPerSecond` times the
 * market clock's activity (the open burst), spread over symbols in proportion to √avgVolume (tick
 * counts grow sublinearly with volume; this also keeps small names ticking). Each tick walks the
 * symbol's price (price-model.ts) over the trading time since its previous tick, quotes a spread of
 * at least one tick around it, updates the quote book and the bar aggregator, and publishes the Tick
 * on `quote.<SYMBOL>`. The hot loop allocates nothing but the published Tick; topics are precomputed.
 */
import type { MessageBus } from '../kernel/bus.ts';
import type { TopicOf } from '../kernel/topics.ts';
import type { Clock } from '../kernel/clock.ts';
import type { BarAggregator } from './bar-aggregator.ts';
import type { Instrument } from './instrument.ts';
import type { MarketClock } from './market-clock.ts';
import { relativeSpread, walkParams } from './price-model.ts';
import type { QuoteBook } from './quote-book.ts';
import { createRandom, type Random } from './random.ts';

export interface Tick {
  id: number;
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  size: number;
  ts: number;
  /** Quoted sizes: a follower instance applies the tick to its book exactly as the leader did. */
  bidSize: number;
  askSize: number;
}

export interface MarketFeedOptions {
  instruments: Instrument[];
  book: QuoteBook;
  clock: Clock;
  marketClock: MarketClock;
  bus: MessageBus;
  aggregator?: BarAggregator;
  /** Base rate while open; the open burst multiplies it (up to ~5×). */
  ticksPerSecond: number;
  seed: number;
  /** Timer granularity in ms, default 10. */
  stepMs?: number;
  /** Checked before every timer step: a feed leader whose lease may have lapsed generates nothing. */
  active?: () => boolean;
  /** Receives errors thrown by a timer step (a consumer's onBars, say); default logs them. */
  onError?: (error: unknown) => void;
}

/** Ticks of one step are spread over sub-windows of at most this, so activity follows the clock. */
const MAX_WINDOW_MS = 1_000;
/** A stalled timer (GC pause, blocked loop) catches up at most this much simulated time. */
const MAX_CATCH_UP_MS = 1_000;
/** A symbol's move is capped at this much trading time since its previous tick (restarts, sparse names). */
const MAX_GAP_MS = 60_000;

export class MarketFeed {
  private readonly book: QuoteBook;
  private readonly clock: Clock;
  private readonly marketClock: MarketClock;
  private readonly bus: MessageBus;
  private readonly aggregator: BarAggregator | undefined;
  private readonly ticksPerSecond: number;
  private readonly stepMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly active: () => boolean;
  private readonly rng: Random;

  // Per instrument, indexed by id.
  private readonly symbols: string[];
  private readonly topics: TopicOf<'quote'>[];
  private readonly base: Float64Array;
  private readonly logDeviation: Float64Array;
  private readonly sigma: Float64Array;
  private readonly reversion: number;
  private readonly tickSize: Float64Array;
  private readonly lotSize: Float64Array;
  private readonly spread: Float64Array;
  private readonly meanLots: Float64Array;
  private readonly lastTs: Float64Array;

  // Walker's alias table over instruments: O(1) weighted choice.
  private readonly aliasProb: Float64Array;
  private readonly aliasSelf: Int32Array;
  private readonly aliasOther: Int32Array;

  private carry = 0;
  private generated = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: MarketFeedOptions) {
    this.book = opts.book;
    this.clock = opts.clock;
    this.marketClock = opts.marketClock;
    this.bus = opts.bus;
    this.aggregator = opts.aggregator;
    if (!(opts.ticksPerSecond >= 0)) throw new RangeError(`ticksPerSecond must be ≥ 0, got ${opts.ticksPerSecond}`);
    this.ticksPerSecond = opts.ticksPerSecond;
    this.stepMs = opts.stepMs ?? 10;
    if (!(this.stepMs > 0)) throw new RangeError(`stepMs must be > 0, got ${this.stepMs}`);
    this.active = opts.active ?? (() => true);
    this.onError = opts.onError ?? ((error) => console.error('market feed step failed', error));
    this.rng = createRandom(opts.seed);

    const instruments = opts.instruments;
    if (instruments.length === 0) throw new RangeError('the feed needs at least one instrument');
    const size = instruments.length + 1;
    this.symbols = new Array<string>(size).fill('');
    this.topics = new Array<TopicOf<'quote'>>(size).fill('quote.');
    this.base = new Float64Array(size);
    this.logDeviation = new Float64Array(size);
    this.sigma = new Float64Array(size);
    this.tickSize = new Float64Array(size);
    this.lotSize = new Float64Array(size);
    this.spread = new Float64Array(size);
    this.meanLots = new Float64Array(size);
    this.lastTs = new Float64Array(size);
    let reversion = 0;
    for (const instrument of instruments) {
      const id = instrument.id;
      if (!(id >= 1 && id < size)) throw new RangeError(`instrument ids must be dense in 1..${instruments.length}; got ${id}`);
      const walk = walkParams(instrument.volatility, this.marketClock);
      reversion = walk.reversionPerMs;
      this.symbols[id] = instrument.symbol;
      this.topics[id] = `quote.${instrument.symbol}`;
      this.base[id] = instrument.basePrice;
      // Continue from the book (restored snapshots or seeded history), not from the base price.
      this.logDeviation[id] = Math.log(this.book.last(id) / instrument.basePrice);
      this.sigma[id] = walk.sigmaPerSqrtMs;
      this.tickSize[id] = instrument.tickSize;
      this.lotSize[id] = instrument.lotSize;
      this.spread[id] = relativeSpread(instrument);
      // Trades average ~avgVolume/20,000 shares (20..500), in whole lots.
      this.meanLots[id] = Math.max(1, Math.min(500, Math.max(20, instrument.avgVolume / 20_000)) / instrument.lotSize);
    }
    this.reversion = reversion;

    const n = instruments.length;
    this.aliasProb = new Float64Array(n);
    this.aliasSelf = new Int32Array(n);
    this.aliasOther = new Int32Array(n);
    const weights = instruments.map((i) => Math.sqrt(Math.max(1, i.avgVolume)));
    const total = weights.reduce((a, b) => a + b, 0);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    for (let i = 0; i < n; i++) this.aliasSelf[i] = instruments[i]!.id;
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.aliasProb[s] = scaled[s]!;
      this.aliasOther[s] = instruments[l]!.id;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) {
      this.aliasProb[i] = 1;
      this.aliasOther[i] = instruments[i]!.id;
    }
  }

  get ticksGenerated(): number {
    return this.generated;
  }

  /**
   * Continues every walk from the book as it is now (the ticks a previous feed leader published),
   * so a new leader makes no jump, and from each symbol's last tick time.
   */
  resume(): void {
    for (let id = 1; id < this.base.length; id++) {
      const quote = this.book.get(id);
      if (!quote) continue;
      this.logDeviation[id] = Math.log(quote.last / this.base[id]!);
      this.lastTs[id] = quote.ts;
    }
  }

  /** Starts the timer (unref'd: it never keeps the process alive); none at a rate of 0. Idempotent. */
  start(): void {
    if (this.timer || this.ticksPerSecond === 0) return;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const elapsed = Math.min(now - last, MAX_CATCH_UP_MS);
      last = now;
      if (!this.active()) return;
      try {
        this.step(elapsed);
      } catch (error) {
        this.onError(error);
      }
    }, this.stepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Generates the ticks due in the `elapsedMs` of simulated time ending at clock.now(), only within
   * open sessions, timestamps spread evenly; then lets the aggregator close finished bars. Returns
   * how many ticks it generated.
   */
  step(elapsedMs: number): number {
    const end = this.clock.now();
    let count = 0;
    let t = end - Math.max(0, elapsedMs);
    while (t < end) {
      const sessionEnd = this.marketClock.sessionEnd(t);
      if (sessionEnd === undefined) {
        t = Math.min(end, this.marketClock.nextOpen(t));
        continue;
      }
      const windowEnd = Math.min(end, sessionEnd, t + MAX_WINDOW_MS);
      count += this.emit(t, windowEnd);
      t = windowEnd;
    }
    this.aggregator?.flush(end);
    return count;
  }

  private emit(from: number, to: number): number {
    const span = to - from;
    const due = ((this.ticksPerSecond * span) / 1000) * this.marketClock.activity(from + span / 2) + this.carry;
    const count = Math.floor(due);
    this.carry = due - count;
    for (let k = 0; k < count; k++) this.tick(Math.floor(from + ((k + 0.5) * span) / count));
    this.generated += count;
    return count;
  }

  private tick(ts: number): void {
    const rng = this.rng;
    const u = rng.next() * this.aliasProb.length;
    const slot = u | 0;
    const id = u - slot < this.aliasProb[slot]! ? this.aliasSelf[slot]! : this.aliasOther[slot]!;

    let dt = ts - this.lastTs[id]!;
    dt = dt < 0 ? 0 : dt > MAX_GAP_MS ? MAX_GAP_MS : dt;
    this.lastTs[id] = ts;
    const x = this.logDeviation[id]! * (1 - this.reversion * dt) + this.sigma[id]! * Math.sqrt(dt) * rng.normal();
    this.logDeviation[id] = x;

    const tick = this.tickSize[id]!;
    let last = Math.round((this.base[id]! * Math.exp(x)) / tick) * tick;
    if (last < tick) last = tick;
    const spreadTicks = Math.round((last * this.spread[id]!) / tick);
    const spread = (spreadTicks < 1 ? 1 : spreadTicks) * tick;
    let bid: number;
    let ask: number;
    // The trade printed at the ask (buyer-initiated) or the bid; the bid never goes below one tick.
    if (rng.next() < 0.5 && last - spread >= tick) {
      ask = last;
      bid = last - spread;
    } else {
      bid = last;
      ask = last + spread;
    }
    const lot = this.lotSize[id]!;
    const meanLots = this.meanLots[id]!;
    const size = lot * (1 + Math.floor(-Math.log(1 - rng.next()) * (meanLots - 1)));
    const bidSize = lot * (1 + Math.floor(rng.next() * 4 * meanLots));
    const askSize = lot * (1 + Math.floor(rng.next() * 4 * meanLots));

    this.book.update(id, bid, ask, last, size, ts, bidSize, askSize);
    this.aggregator?.onTick(id, last, size, ts);
    const symbol = this.symbols[id]!;
    this.bus.publish(this.topics[id]!, { id, symbol, bid, ask, last, size, ts, bidSize, askSize });
  }
}
