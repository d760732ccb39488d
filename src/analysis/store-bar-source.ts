/**
 * The analysis BarSource over the platform's bar tables (the market-data BarStore: 1-minute bars,
 * date_bin aggregation for 5m/15m/1h, the daily roll-up plus today's minutes for 1d), so backtests,
 * strategy performance and forecasts run on the stored history. Prices arrive in integer units and
 * are converted to floats once, into columnar arrays.
 */
import type { Clock } from '../kernel/clock.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { PRICE_SCALE } from '../kernel/money.ts';
import type { Bar } from '../market-data/bar.ts';
import type { MarketData } from '../market-data/service.ts';
import { allocPanel, allocSeries, type BarInterval, type BarPanel, type BarSeries } from './series.ts';
import { estimateBars, type BarSource } from './service.ts';

/** Symbols whose bars are read at once: bounds the connections one panel holds. */
const READ_CONCURRENCY = 8;

export class StoreBarSource implements BarSource {
  constructor(
    private readonly marketData: MarketData,
    private readonly clock: Clock,
  ) {}

  exists(symbol: string): boolean {
    return this.marketData.findInstrument(symbol) !== undefined;
  }

  async recent(symbol: string, interval: BarInterval, bars: number): Promise<BarSeries> {
    const rows = await this.marketData.bars(symbol, interval, { to: this.clock.now() + 1, limit: bars });
    const series = allocSeries(rows.length);
    rows.forEach((bar, i) => writeBar(series, i, bar));
    return series;
  }

  /**
   * Aligns the symbols on the union of their timestamps. A symbol without a bar at some time carries
   * its last close forward (a flat bar, no volume); before its first bar it holds its first open, so
   * a late listing neither trades nor moves the portfolio before it exists.
   */
  async panel(symbols: string[], interval: BarInterval, from: number, to: number): Promise<BarPanel> {
    const unknown = symbols.filter((s) => !this.exists(s));
    if (unknown.length > 0) throw new NotFoundError(`unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { symbols: unknown });
    const limit = estimateBars(interval, from, to);
    const perSymbol = new Array<Bar[]>(symbols.length);
    for (let start = 0; start < symbols.length; start += READ_CONCURRENCY) {
      const slice = symbols.slice(start, start + READ_CONCURRENCY);
      const read = await Promise.all(slice.map((s) => this.marketData.bars(s, interval, { from, to: to + 1, limit })));
      read.forEach((rows, k) => (perSymbol[start + k] = rows));
    }
    const calendar = unionOfTimestamps(perSymbol);
    const panel = allocPanel(symbols.map((s) => s.toUpperCase()), calendar.length);
    panel.ts.set(calendar);
    perSymbol.forEach((rows, k) => fillAligned(panel, k, rows));
    return panel;
  }
}

const INV = 1 / PRICE_SCALE;

function writeBar(s: { ts?: Float64Array; open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array }, i: number, bar: Bar): void {
  if (s.ts) s.ts[i] = bar.ts;
  s.open[i] = bar.open * INV;
  s.high[i] = bar.high * INV;
  s.low[i] = bar.low * INV;
  s.close[i] = bar.close * INV;
  s.volume[i] = bar.volume;
}

function unionOfTimestamps(perSymbol: Bar[][]): Float64Array {
  const first = perSymbol[0] ?? [];
  // The common case (every symbol traded every bar): the first symbol's calendar is everyone's.
  if (perSymbol.every((rows) => rows.length === first.length && rows.every((b, i) => b.ts === first[i]!.ts))) {
    return Float64Array.from(first, (b) => b.ts);
  }
  const all = new Set<number>();
  for (const rows of perSymbol) for (const b of rows) all.add(b.ts);
  return Float64Array.from([...all].sort((a, b) => a - b));
}

function fillAligned(panel: BarPanel, k: number, rows: Bar[]): void {
  const base = k * panel.bars;
  const view = {
    open: panel.open.subarray(base, base + panel.bars),
    high: panel.high.subarray(base, base + panel.bars),
    low: panel.low.subarray(base, base + panel.bars),
    close: panel.close.subarray(base, base + panel.bars),
    volume: panel.volume.subarray(base, base + panel.bars),
  };
  let j = 0;
  let last = rows[0] ? rows[0].open * INV : 0;
  for (let i = 0; i < panel.bars; i++) {
    const bar = rows[j];
    if (bar && bar.ts === panel.ts[i]) {
      writeBar(view, i, bar);
      last = view.close[i]!;
      j++;
    } else {
      view.open[i] = view.high[i] = view.low[i] = view.close[i] = last;
      view.volume[i] = 0;
    }
  }
}
