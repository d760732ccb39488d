/**
 * The analysis BarSource over the platform's bar tables (the market-data BarStore: 1-minute bars,
 * date_bin aggregation for 5m/15m/1h, the daily roll-up plus today's minutes for 1d), so backtests,
 * strategy performance and forecasts run on the stored history. Prices arrive in integer units and
 * are converted to floats once, into columnar arrays.
 */
import type { Database } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { PRICE_SCALE } from '../kernel/money.ts';
import { TimeSlicer } from '../kernel/time-slicer.ts';
import type { Bar } from '../market-data/bar.ts';
import { latestFrom } from '../market-data/bar-store.ts';
import type { MarketData } from '../market-data/service.ts';
import { allocPanel, allocSeries, type BarInterval, type BarPanel, type BarSeries } from './series.ts';
import { estimateBars, type BarSource } from './service.ts';

/** Main-thread budget of one slice while reading and decoding a panel (then timers and sockets run). */
const SLICE_MS = 4;
/**
 * Source rows (1-minute bars; days for 1d) one read covers on the embedded engine, whose queries
 * run on the main thread: a read stays within a slice. The server engine reads a symbol at once
 * (the pg driver decodes as socket chunks arrive, between other events).
 */
const EMBEDDED_READ_ROWS = 500;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const INTERVAL_MS: Record<BarInterval, number> = { '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '15m': 15 * MINUTE_MS, '1h': 60 * MINUTE_MS, '1d': DAY_MS };

/** Symbols read at once from a server: bounds the connections one panel holds. */
const SERVER_READ_CONCURRENCY = 8;

export class StoreBarSource implements BarSource {
  constructor(
    private readonly marketData: MarketData,
    private readonly clock: Clock,
    /** The embedded engine runs one query at a time on this thread: reads go one by one, in windows. */
    private readonly engine: Database['kind'] = 'server',
  ) {}

  exists(symbol: string): boolean {
    return this.marketData.findInstrument(symbol) !== undefined;
  }

  async recent(symbol: string, interval: BarInterval, bars: number): Promise<BarSeries> {
    const to = this.clock.now() + 1;
    if (this.engine !== 'embedded') return decode([await this.marketData.bars(symbol, interval, { to, limit: bars })]);
    // The store's look-back, read newest window first until `bars` are in hand (a forecast's 100,000).
    const windows = readWindows(interval, latestFrom(interval, to, bars), to);
    const slicer = new TimeSlicer(SLICE_MS);
    const parts: Bar[][] = [];
    let read = 0;
    for (let w = windows.length - 1; w >= 0 && read < bars; w--) {
      const [start, end] = windows[w]!;
      // Every bar of the window (its newest ones are wanted); the excess is skipped when decoding.
      const rows = await this.marketData.bars(symbol, interval, { from: start, to: end, limit: estimateBars(interval, start, end) });
      parts.unshift(rows);
      read += rows.length;
      await slicer.pause();
    }
    return decode(parts, Math.max(0, read - bars));
  }

  /**
   * Aligns the symbols on the union of their timestamps. A symbol without a bar at some time carries
   * its last close forward (a flat bar, no volume); before its first bar it holds its first open, so
   * a late listing neither trades nor moves the portfolio before it exists. Reading, decoding and
   * aligning yield to the event loop every SLICE_MS, so a large panel never stalls other requests.
   */
  async panel(symbols: string[], interval: BarInterval, from: number, to: number): Promise<BarPanel> {
    const unknown = symbols.filter((s) => !this.exists(s));
    if (unknown.length > 0) throw new NotFoundError(`unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { symbols: unknown });
    const limit = estimateBars(interval, from, to);
    const embedded = this.engine === 'embedded';
    const windows = embedded ? readWindows(interval, from, to + 1) : [[from, to + 1] as const];
    const slicer = new TimeSlicer(SLICE_MS);
    const perSymbol = new Array<BarSeries>(symbols.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      for (let k = next++; k < symbols.length; k = next++) {
        const parts: Bar[][] = [];
        for (const [start, end] of windows) {
          parts.push(await this.marketData.bars(symbols[k]!, interval, { from: start, to: end, limit }));
          await slicer.pause();
        }
        perSymbol[k] = decode(parts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(embedded ? 1 : SERVER_READ_CONCURRENCY, symbols.length) }, reader));
    const calendar = await unionOfTimestamps(perSymbol, slicer);
    const panel = allocPanel(symbols.map((s) => s.toUpperCase()), calendar.length);
    panel.ts.set(calendar);
    for (let k = 0; k < perSymbol.length; k++) {
      fillAligned(panel, k, perSymbol[k]!);
      await slicer.pause();
    }
    return panel;
  }
}

/**
 * [from, to) cut at multiples of a span holding EMBEDDED_READ_ROWS source rows. The span is a multiple
 * of the interval, and intervals divide a day, so cuts fall on bucket boundaries (date_bin's origin
 * and the daily roll-up are midnight UTC) and no bucket is split between two reads. An inner read
 * ends 1 ms before its cut: the daily query includes the day its (exclusive) end falls in.
 */
function readWindows(interval: BarInterval, from: number, to: number): Array<readonly [number, number]> {
  const step = INTERVAL_MS[interval];
  const sourceMs = interval === '1d' ? DAY_MS : MINUTE_MS;
  const span = Math.max(step, Math.floor((EMBEDDED_READ_ROWS * sourceMs) / step) * step);
  const windows: Array<readonly [number, number]> = [];
  let start = from;
  for (let cut = (Math.floor(from / span) + 1) * span; cut < to; cut += span) {
    windows.push([start, cut - 1]);
    start = cut;
  }
  windows.push([start, to]);
  return windows;
}

const INV = 1 / PRICE_SCALE;

function writeBar(s: BarSeries, i: number, bar: Bar): void {
  s.ts[i] = bar.ts;
  s.open[i] = bar.open * INV;
  s.high[i] = bar.high * INV;
  s.low[i] = bar.low * INV;
  s.close[i] = bar.close * INV;
  s.volume[i] = bar.volume;
}

/** Stored bars (prices in units), but the first `skip`, into one float series; the row objects become garbage at once. */
function decode(parts: Bar[][], skip = 0): BarSeries {
  let n = -skip;
  for (const rows of parts) n += rows.length;
  const series = allocSeries(n);
  let i = -skip;
  for (const rows of parts) {
    for (const bar of rows) {
      if (i >= 0) writeBar(series, i, bar);
      i++;
    }
  }
  return series;
}

function sameCalendar(a: BarSeries, b: BarSeries): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a.ts[i] !== b.ts[i]) return false;
  return true;
}

async function unionOfTimestamps(perSymbol: BarSeries[], slicer: TimeSlicer): Promise<Float64Array> {
  const first = perSymbol[0];
  if (!first) return new Float64Array(0);
  // The common case (every symbol traded every bar): the first symbol's calendar is everyone's.
  let uniform = true;
  for (let k = 1; k < perSymbol.length && uniform; k++) {
    uniform = sameCalendar(first, perSymbol[k]!);
    await slicer.pause();
  }
  if (uniform) return first.ts.slice(0, first.length);
  const all = new Set<number>();
  for (const series of perSymbol) {
    for (let i = 0; i < series.length; i++) all.add(series.ts[i]!);
    await slicer.pause();
  }
  return Float64Array.from([...all].sort((a, b) => a - b));
}

function fillAligned(panel: BarPanel, k: number, rows: BarSeries): void {
  const base = k * panel.bars;
  const view = {
    open: panel.open.subarray(base, base + panel.bars),
    high: panel.high.subarray(base, base + panel.bars),
    low: panel.low.subarray(base, base + panel.bars),
    close: panel.close.subarray(base, base + panel.bars),
    volume: panel.volume.subarray(base, base + panel.bars),
  };
  let j = 0;
  let last = rows.length > 0 ? rows.open[0]! : 0;
  for (let i = 0; i < panel.bars; i++) {
    if (j < rows.length && rows.ts[j] === panel.ts[i]) {
      view.open[i] = rows.open[j]!;
      view.high[i] = rows.high[j]!;
      view.low[i] = rows.low[j]!;
      last = view.close[i] = rows.close[j]!;
      view.volume[i] = rows.volume[j]!;
      j++;
    } else {
      view.open[i] = view.high[i] = view.low[i] = view.close[i] = last;
      view.volume[i] = 0;
    }
  }
}
