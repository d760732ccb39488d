/**
 * Columnar bar series: one Float64Array per field, so indicator and backtest loops stream
 * through contiguous memory with no per-bar objects. Prices are plain floats here (analytics
 * tolerate rounding); the platform stores integer units of 1/PRICE_SCALE, converted once on load.
 */
import { PRICE_SCALE } from '../kernel/money.ts';

export interface BarSeries {
  /** Bar open time, epoch milliseconds. */
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  length: number;
}

/**
 * Many symbols on one shared calendar (daily bars of a universe), symbol-major: symbol k's bars are
 * [k*bars, (k+1)*bars). Backed by SharedArrayBuffer when `shared`, so worker threads read the same
 * memory instead of receiving copies. The columns travel to workers without the symbol names.
 */
export interface BarPanel extends PanelColumns {
  symbols: string[];
}

export interface PanelColumns {
  bars: number;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export type BarInterval = '1m' | '5m' | '15m' | '1h' | '1d';

function f64(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
}

export function allocSeries(length: number, shared = false): BarSeries {
  return {
    ts: f64(length, shared),
    open: f64(length, shared),
    high: f64(length, shared),
    low: f64(length, shared),
    close: f64(length, shared),
    volume: f64(length, shared),
    length,
  };
}

export function allocPanel(symbols: string[], bars: number, shared = true): BarPanel {
  const n = symbols.length * bars;
  return {
    symbols,
    bars,
    ts: f64(bars, shared),
    open: f64(n, shared),
    high: f64(n, shared),
    low: f64(n, shared),
    close: f64(n, shared),
    volume: f64(n, shared),
  };
}

/** A zero-copy view of one symbol of a panel (subarrays share the panel's memory). */
export function panelSeries(panel: PanelColumns, index: number): BarSeries {
  const from = index * panel.bars;
  const to = from + panel.bars;
  return {
    ts: panel.ts,
    open: panel.open.subarray(from, to),
    high: panel.high.subarray(from, to),
    low: panel.low.subarray(from, to),
    close: panel.close.subarray(from, to),
    volume: panel.volume.subarray(from, to),
    length: panel.bars,
  };
}

export interface UnitsColumns {
  ts: ArrayLike<number>;
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  volume: ArrayLike<number>;
}

/** Converts stored columns (prices in integer units of 1/PRICE_SCALE) into a float series. */
export function fromUnitsColumns(columns: UnitsColumns, shared = false): BarSeries {
  const n = columns.ts.length;
  const s = allocSeries(n, shared);
  const inv = 1 / PRICE_SCALE;
  for (let i = 0; i < n; i++) {
    s.ts[i] = columns.ts[i]!;
    s.open[i] = columns.open[i]! * inv;
    s.high[i] = columns.high[i]! * inv;
    s.low[i] = columns.low[i]! * inv;
    s.close[i] = columns.close[i]! * inv;
    s.volume[i] = columns.volume[i]!;
  }
  return s;
}

/** Builds a series from plain close prices (tests, examples): open = previous close, high/low bracket both. */
export function seriesFromCloses(closes: ArrayLike<number>, startTs = 0, stepMs = 86_400_000): BarSeries {
  const s = allocSeries(closes.length);
  fillFromCloses(s, closes, startTs, stepMs);
  return s;
}

function fillFromCloses(s: BarSeries, closes: ArrayLike<number>, startTs: number, stepMs: number): void {
  for (let i = 0; i < s.length; i++) {
    const c = closes[i]!;
    const o = i === 0 ? c : closes[i - 1]!;
    s.ts[i] = startTs + i * stepMs;
    s.open[i] = o;
    s.close[i] = c;
    s.high[i] = Math.max(o, c);
    s.low[i] = Math.min(o, c);
    s.volume[i] = 1000;
  }
}

/** Deterministic PRNG (mulberry32): same seed, same data, on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Geometric random walk written into `s` from offset `from` (benchmarks and tests): per-bar
 * log-return volatility `vol`, intrabar range from a second draw. Deterministic for a seed.
 */
export function fillRandomWalk(
  target: { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume: Float64Array },
  from: number,
  length: number,
  seed: number,
  vol = 0.01,
  start = 100,
): void {
  const rand = mulberry32(seed);
  let price = start;
  for (let i = from; i < from + length; i++) {
    // Sum of 3 uniforms: cheap, bell-shaped, zero-mean, variance 1/4 → scale to unit variance.
    const z = (rand() + rand() + rand() - 1.5) * 2;
    const open = price;
    price = open * Math.exp(vol * z);
    const spread = open * vol * rand() * 0.5;
    target.open[i] = open;
    target.close[i] = price;
    target.high[i] = Math.max(open, price) + spread;
    target.low[i] = Math.min(open, price) - spread;
    target.volume[i] = 1000 + Math.floor(rand() * 9000);
  }
}

export function randomWalkSeries(length: number, seed: number, stepMs = 86_400_000, startTs = Date.UTC(2020, 0, 1), shared = false): BarSeries {
  const s = allocSeries(length, shared);
  for (let i = 0; i < length; i++) s.ts[i] = startTs + i * stepMs;
  fillRandomWalk(s, 0, length, seed);
  return s;
}

export function randomWalkPanel(symbolCount: number, bars: number, seed: number, stepMs = 86_400_000, startTs = Date.UTC(2020, 0, 1)): BarPanel {
  const symbols = Array.from({ length: symbolCount }, (_, k) => `SYM${String(k).padStart(4, '0')}`);
  const panel = allocPanel(symbols, bars);
  for (let i = 0; i < bars; i++) panel.ts[i] = startTs + i * stepMs;
  for (let k = 0; k < symbolCount; k++) fillRandomWalk(panel, k * bars, bars, seed + k * 7919);
  return panel;
}
