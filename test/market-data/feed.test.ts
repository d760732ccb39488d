import { describe, expect, it, vi } from 'vitest';
import { MessageBus } from '../../src/kernel/bus.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import type { BarBatch } from '../../src/market-data/bar.ts';
import { BarAggregator } from '../../src/market-data/bar-aggregator.ts';
import { MarketFeed, type Tick } from '../../src/market-data/feed.ts';
import { MarketClock, type MarketHours } from '../../src/market-data/market-clock.ts';
import { QuoteBook } from '../../src/market-data/quote-book.ts';
import { buildUniverse } from '../../src/market-data/universe.ts';

const OPEN = Date.UTC(2026, 0, 5, 14, 30); // Monday 09:30 New York

function setup(hours: MarketHours = 'exchange', start = OPEN + 60 * 60_000, seed = 9) {
  const instruments = buildUniverse(200, 5);
  const clock = new ManualClock(start);
  const book = new QuoteBook(instruments);
  const bus = new MessageBus();
  const ticks: Tick[] = [];
  bus.subscribe('quote.*', (tick) => ticks.push(tick));
  const batches: BarBatch[] = [];
  const aggregator = new BarAggregator(instruments.length, (batch) => batches.push(batch));
  const marketClock = new MarketClock(hours);
  const feed = new MarketFeed({ instruments, book, clock, marketClock, bus, aggregator, ticksPerSecond: 1_000, seed });
  const run = (ms: number, stepMs = 100): number => {
    let n = 0;
    for (let t = 0; t < ms; t += stepMs) {
      clock.advance(stepMs);
      n += feed.step(stepMs);
    }
    return n;
  };
  return { instruments, clock, book, bus, ticks, batches, feed, run };
}

describe('MarketFeed', () => {
  it('ticks at the configured rate while open, publishing on quote.<SYMBOL>', () => {
    const { ticks, feed, run, book, bus, instruments } = setup();
    const aapl: Tick[] = [];
    bus.subscribe('quote.AAPL', (tick) => aapl.push(tick));
    const n = run(10_000);
    // Mid-session activity is 1, and fractional ticks carry over between steps.
    expect(n).toBeGreaterThanOrEqual(9_990);
    expect(n).toBeLessThanOrEqual(10_010);
    expect(ticks).toHaveLength(n);
    expect(feed.ticksGenerated).toBe(n);
    expect(aapl.length).toBeGreaterThan(0);
    for (const tick of aapl) expect(tick.symbol).toBe('AAPL');
    // The book holds the latest tick of every symbol that traded.
    const latest = new Map(ticks.map((t) => [t.id, t]));
    expect(latest.size).toBeGreaterThan(instruments.length * 0.9);
    for (const [id, tick] of latest) expect(book.get(id)).toMatchObject({ last: tick.last, bid: tick.bid, ask: tick.ask, ts: tick.ts });
  });

  it('keeps prices on the tick grid and positive, bid below ask, sizes in lots, timestamps within the step', () => {
    const { ticks, run, instruments, clock } = setup('always', Date.UTC(2026, 0, 10, 12), 21);
    const start = clock.now();
    run(30_000);
    expect(ticks.length).toBeGreaterThan(20_000);
    // One assertion over all ticks: per-tick expect() calls would dominate the run time.
    const bad: string[] = [];
    let previousTs = -Infinity;
    for (const tick of ticks) {
      const instrument = instruments[tick.id - 1]!;
      const onGrid = [tick.bid, tick.ask, tick.last].every((p) => p > 0 && p % instrument.tickSize === 0);
      const ok =
        tick.symbol === instrument.symbol &&
        onGrid &&
        tick.bid < tick.ask &&
        tick.bid <= tick.last &&
        tick.last <= tick.ask &&
        tick.size > 0 &&
        tick.size % instrument.lotSize === 0 &&
        tick.ts >= previousTs &&
        tick.ts >= start &&
        tick.ts < clock.now();
      if (!ok) bad.push(JSON.stringify(tick));
      previousTs = tick.ts;
    }
    expect(bad).toEqual([]);
  });

  it('produces no ticks while the market is closed, and none past the close within a step', () => {
    const saturday = setup('exchange', Date.UTC(2026, 0, 10, 15));
    expect(saturday.run(5_000)).toBe(0);
    expect(saturday.ticks).toHaveLength(0);

    const close = Date.UTC(2026, 0, 5, 21);
    const closing = setup('exchange', close - 2_000);
    closing.clock.advance(4_000);
    const n = closing.feed.step(4_000); // two seconds open, two closed
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(2 * 1_000 * 3); // at most the close ramp's multiple
    for (const tick of closing.ticks) expect(tick.ts).toBeLessThan(close);
  });

  it('bursts at the open', () => {
    const atOpen = setup('exchange', OPEN);
    const midday = setup('exchange', OPEN + 3 * 3_600_000);
    expect(atOpen.run(5_000)).toBeGreaterThan(4 * midday.run(5_000));
  });

  it('is deterministic for a seed', () => {
    const a = setup('exchange', OPEN + 3_600_000, 3);
    const b = setup('exchange', OPEN + 3_600_000, 3);
    a.run(2_000);
    b.run(2_000);
    expect(a.ticks).toEqual(b.ticks);
  });

  it('feeds the aggregator, which emits one batch of closed bars per minute rollover', () => {
    const { batches, run, ticks, clock } = setup('exchange', OPEN + 3_600_000);
    run(60_000); // ends exactly on the minute boundary: that minute's bars close
    expect(batches).toHaveLength(1);
    run(60_000);
    expect(batches).toHaveLength(2);
    const first = batches[0]!;
    const minuteStart = clock.now() - 120_000;
    const byId = new Map<number, Tick[]>();
    for (const t of ticks) {
      if (t.ts >= minuteStart + 60_000) continue;
      const own = byId.get(t.id) ?? [];
      own.push(t);
      byId.set(t.id, own);
    }
    expect(first.length).toBe(byId.size);
    const mismatched: number[] = [];
    for (let i = 0; i < first.length; i++) {
      const id = first.instrumentId[i]!;
      const own = byId.get(id)!;
      const ok =
        first.ts[i] === minuteStart &&
        first.open[i] === own[0]!.last &&
        first.close[i] === own[own.length - 1]!.last &&
        first.high[i] === Math.max(...own.map((t) => t.last)) &&
        first.low[i] === Math.min(...own.map((t) => t.last)) &&
        first.volume[i] === own.reduce((sum, t) => sum + t.size, 0);
      if (!ok) mismatched.push(id);
    }
    expect(mismatched).toEqual([]);
  });

  it('continues from the prices in the quote book', () => {
    const { instruments } = setup();
    const book = new QuoteBook(instruments);
    const id = book.idOf('AAPL')!;
    book.restore(id, 999_900, 1_000_100, 1_000_000, 0, OPEN);
    const clock = new ManualClock(OPEN + 3_600_000);
    const bus = new MessageBus();
    const feed = new MarketFeed({ instruments, book, clock, marketClock: new MarketClock('exchange'), bus, ticksPerSecond: 1_000, seed: 1 });
    const aapl: Tick[] = [];
    bus.subscribe('quote.AAPL', (t) => aapl.push(t));
    clock.advance(5_000);
    feed.step(5_000);
    expect(aapl.length).toBeGreaterThan(0);
    expect(Math.abs(aapl[0]!.last - 1_000_000)).toBeLessThan(50_000);
  });

  it('start() runs one timer (idempotent) and stop() ends it; at a rate of 0 none runs', () => {
    vi.useFakeTimers();
    try {
      const { feed, instruments, book, clock, bus } = setup();
      feed.start();
      feed.start();
      expect(vi.getTimerCount()).toBe(1);
      feed.stop();
      feed.stop();
      expect(vi.getTimerCount()).toBe(0);
      // An idle feed would still wake the event loop a hundred times a second.
      const silent = new MarketFeed({ instruments, book, clock, marketClock: new MarketClock('exchange'), bus, ticksPerSecond: 0, seed: 1 });
      silent.start();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('MarketFeed.resume (a new feed leader)', () => {
  it('continues every walk from the book as it is now, not from where the feed was built', () => {
    const { instruments, book, feed, run } = setup('always', Date.UTC(2026, 0, 10, 12), 4);
    // Another leader moved every price to twice its base before this instance took over.
    for (const i of instruments) book.update(i.id, 2 * i.basePrice - i.tickSize, 2 * i.basePrice + i.tickSize, 2 * i.basePrice, 1, Date.UTC(2026, 0, 10, 12));
    feed.resume();
    run(5_000);
    const ratios = instruments.map((i) => book.get(i.id)!.last / i.basePrice);
    expect(Math.min(...ratios)).toBeGreaterThan(1.8);
    expect(Math.max(...ratios)).toBeLessThan(2.2);
  });
});
