/**
 * The backtest engine. Execution convention: a strategy decides on bar i's close; a change of
 * target position fills at bar i+1's open, worse by the slippage (buys higher, sells lower), paying
 * commission = notional × bps + a fixed fee per fill. Equity is marked at each bar's close; bar 0's
 * equity is the starting capital (nothing can fill before bar 1). A position still open at the end
 * is marked to market and reported as `open`, not counted as a trade.
 *
 * A portfolio gives each symbol an equal sleeve of the capital and sums the sleeves' equity; symbols
 * are processed in fixed-size chunks (independent of the thread count) and merged in order, so the
 * floating-point sums—and the results—are identical whether a run is inline or split over workers.
 */
import type { BacktestOptions } from './backtest-options.ts';
import { emptyTradeStats, performanceMetrics, periodsPerYear, type PerformanceMetrics, type TradeStats } from './metrics.ts';
import { Scratch } from './scratch.ts';
import { panelSeries, type BarPanel, type BarSeries, type PanelColumns } from './series.ts';
import { strategyDefinition, type StrategySpec } from './strategies/catalogue.ts';

export interface Trade {
  symbol: string;
  side: 'long' | 'short';
  entryTs: number;
  entryPrice: number;
  exitTs: number;
  exitPrice: number;
  quantity: number;
  /** Net of both fills' commissions (slippage is already in the prices). */
  pnl: number;
  /** pnl / entry notional. */
  return: number;
  bars: number;
}

export interface OpenPosition {
  symbol: string;
  side: 'long' | 'short';
  entryTs: number;
  entryPrice: number;
  quantity: number;
}

export interface BacktestResult {
  strategy: StrategySpec;
  metrics: PerformanceMetrics;
  trades: Trade[];
  open: OpenPosition[];
  /** Equity marked at each bar's close; `ts` is a view of the input's timestamps (no copy). */
  equity: { ts: Float64Array; value: Float64Array };
  symbols: number;
  bars: number;
}

/**
 * Partial result of a group of symbols; merged in order into a portfolio result. Trades are columnar
 * so that a worker's partial crosses the thread boundary as a few memcpy'd typed arrays instead of
 * thousands of structured-cloned objects.
 */
export interface PortfolioPartial {
  equity: Float64Array;
  stats: TradeStats;
  exposedBars: number;
  trades: TradeColumns;
  /** Open positions with the symbol as an index; named in the merge. */
  open: Array<Omit<OpenPosition, 'symbol'> & { symbol: number }>;
}

export interface TradeColumns {
  count: number;
  /** Index into the symbol list. */
  symbol: Int32Array;
  /** +1 long, −1 short. */
  side: Int8Array;
  entryTs: Float64Array;
  entryPrice: Float64Array;
  exitTs: Float64Array;
  exitPrice: Float64Array;
  quantity: Float64Array;
  pnl: Float64Array;
  bars: Int32Array;
}

/** Symbols per portfolio chunk: the unit of work sent to a worker and the unit of summation. */
export const PORTFOLIO_CHUNK = 64;

/** Counts every trade; keeps the first `limit` in growable columns. */
class TradeLog {
  readonly stats = emptyTradeStats();
  readonly columns: TradeColumns;
  constructor(private readonly limit: number) {
    this.columns = allocTrades(Math.min(limit, 64));
  }

  add(symbol: number, side: number, entryTs: number, entryPrice: number, exitTs: number, exitPrice: number, quantity: number, pnl: number, bars: number): void {
    const s = this.stats;
    s.trades++;
    if (pnl > 0) {
      s.wins++;
      s.grossProfit += pnl;
    } else s.grossLoss -= pnl;
    let c = this.columns;
    if (c.count >= this.limit) return;
    if (c.count === c.pnl.length) c = this.grow();
    const k = c.count++;
    c.symbol[k] = symbol;
    c.side[k] = side;
    c.entryTs[k] = entryTs;
    c.entryPrice[k] = entryPrice;
    c.exitTs[k] = exitTs;
    c.exitPrice[k] = exitPrice;
    c.quantity[k] = quantity;
    c.pnl[k] = pnl;
    c.bars[k] = bars;
  }

  private grow(): TradeColumns {
    const c = this.columns;
    const bigger = allocTrades(Math.min(this.limit, c.pnl.length * 2));
    for (const key of COLUMN_KEYS) (bigger[key] as Float64Array).set(c[key] as Float64Array);
    bigger.count = c.count;
    // In place: the partial result already references `columns`.
    return Object.assign(c, bigger);
  }
}

const COLUMN_KEYS = ['symbol', 'side', 'entryTs', 'entryPrice', 'exitTs', 'exitPrice', 'quantity', 'pnl', 'bars'] as const;

function allocTrades(capacity: number): TradeColumns {
  return {
    count: 0,
    symbol: new Int32Array(capacity),
    side: new Int8Array(capacity),
    entryTs: new Float64Array(capacity),
    entryPrice: new Float64Array(capacity),
    exitTs: new Float64Array(capacity),
    exitPrice: new Float64Array(capacity),
    quantity: new Float64Array(capacity),
    pnl: new Float64Array(capacity),
    bars: new Int32Array(capacity),
  };
}

/** Trade objects (for the JSON answer) from columns, up to `limit` more into `out`. */
function materializeTrades(c: TradeColumns, symbols: readonly string[], out: Trade[], limit: number): void {
  for (let k = 0; k < c.count && out.length < limit; k++) {
    const quantity = c.quantity[k]!;
    const entryPrice = c.entryPrice[k]!;
    const pnl = c.pnl[k]!;
    out.push({
      symbol: symbols[c.symbol[k]!]!,
      side: c.side[k]! > 0 ? 'long' : 'short',
      entryTs: c.entryTs[k]!,
      entryPrice,
      exitTs: c.exitTs[k]!,
      exitPrice: c.exitPrice[k]!,
      quantity,
      pnl,
      return: pnl / (quantity * entryPrice),
      bars: c.bars[k]!,
    });
  }
}

/**
 * Runs one symbol's signals through the execution model, adding its equity curve into `equityOut`
 * (so sleeves sum without a temporary array). Returns the bars with an open position.
 */
function simulate(
  symbol: number,
  series: BarSeries,
  signals: Int8Array,
  options: BacktestOptions,
  capital: number,
  equityOut: Float64Array,
  log: TradeLog,
  openOut: PortfolioPartial['open'],
): number {
  const { open, close, ts } = series;
  const n = series.length;
  const slip = options.slippageBps / 10_000;
  const rate = options.commissionBps / 10_000;
  const fixed = options.commissionPerTrade;
  const fraction = options.positionFraction;
  const whole = !options.fractionalShares;
  const allowShort = options.allowShort;
  let cash = capital;
  let qty = 0; // signed
  let entryPrice = 0;
  let entryFee = 0;
  let entryIndex = 0;
  let exposed = 0;
  if (n > 0) equityOut[0]! += capital;
  for (let i = 1; i < n; i++) {
    let target = signals[i - 1]!;
    if (target < 0 && !allowShort) target = 0;
    const side = qty > 0 ? 1 : qty < 0 ? -1 : 0;
    if (target !== side) {
      const o = open[i]!;
      if (qty !== 0) {
        const px = qty > 0 ? o * (1 - slip) : o * (1 + slip);
        const fee = Math.abs(qty) * px * rate + fixed;
        cash += qty * px - fee;
        const pnl = qty * (px - entryPrice) - fee - entryFee;
        log.add(symbol, qty > 0 ? 1 : -1, ts[entryIndex]!, entryPrice, ts[i]!, px, Math.abs(qty), pnl, i - entryIndex);
        qty = 0;
      }
      if (target !== 0 && cash > 0) {
        const px = target > 0 ? o * (1 + slip) : o * (1 - slip);
        // Size so that notional plus commission fits the committed budget.
        let q = (cash * fraction - fixed) / (px * (1 + rate));
        if (whole) q = Math.floor(q);
        if (q > 0) {
          entryFee = q * px * rate + fixed;
          cash -= target * q * px + entryFee;
          qty = target * q;
          entryPrice = px;
          entryIndex = i;
        }
      }
    }
    if (qty !== 0) exposed++;
    equityOut[i]! += cash + qty * close[i]!;
  }
  if (qty !== 0) openOut.push({ symbol, side: qty > 0 ? 'long' : 'short', entryTs: ts[entryIndex]!, entryPrice, quantity: Math.abs(qty) });
  return exposed;
}

/** One symbol, inline. `spec` must come from validateParams, `options` from validateBacktestOptions. */
export function runBacktest(symbol: string, series: BarSeries, spec: StrategySpec, options: BacktestOptions, scratch = new Scratch()): BacktestResult {
  const definition = strategyDefinition(spec.type);
  const signals = scratch.i8(series.length);
  definition.signals(series, spec.params, signals, scratch);
  const equity = new Float64Array(series.length);
  const log = new TradeLog(options.maxTrades);
  const open: PortfolioPartial['open'] = [];
  const exposed = simulate(0, series, signals, options, options.initialCash, equity, log, open);
  const trades: Trade[] = [];
  materializeTrades(log.columns, [symbol], trades, options.maxTrades);
  return {
    strategy: spec,
    metrics: performanceMetrics(equity, periodsPerYear(options.interval, options.session), log.stats, series.length > 1 ? exposed / (series.length - 1) : 0),
    trades,
    open: open.map((p) => ({ ...p, symbol })),
    equity: { ts: series.ts.subarray(0, series.length), value: equity },
    symbols: 1,
    bars: series.length,
  };
}

/**
 * Symbols [from, to) of a panel of `symbolCount` symbols: the work of one chunk (a worker task, or one
 * step inline). Takes the columns only, so a task does not carry thousands of symbol names.
 */
export function runPortfolioChunk(
  panel: PanelColumns,
  symbolCount: number,
  spec: StrategySpec,
  options: BacktestOptions,
  from: number,
  to: number,
  scratch = new Scratch(),
): PortfolioPartial {
  const definition = strategyDefinition(spec.type);
  const sleeve = options.initialCash / symbolCount;
  const equity = new Float64Array(panel.bars);
  const log = new TradeLog(options.maxTrades);
  const open: PortfolioPartial['open'] = [];
  const signals = scratch.i8(panel.bars);
  let exposedBars = 0;
  for (let k = from; k < to; k++) {
    const series = panelSeries(panel, k);
    definition.signals(series, spec.params, signals, scratch);
    exposedBars += simulate(k, series, signals, options, sleeve, equity, log, open);
  }
  return { equity, stats: log.stats, exposedBars, trades: log.columns, open };
}

/** The fixed chunk boundaries of a panel, shared by the inline and the worker-pool paths. */
export function portfolioChunks(symbols: number): Array<[from: number, to: number]> {
  const chunks: Array<[number, number]> = [];
  for (let from = 0; from < symbols; from += PORTFOLIO_CHUNK) chunks.push([from, Math.min(symbols, from + PORTFOLIO_CHUNK)]);
  return chunks;
}

/** Merges chunk results, which must be in chunk order, into the portfolio result. */
export function mergePortfolio(panel: BarPanel, spec: StrategySpec, options: BacktestOptions, partials: PortfolioPartial[]): BacktestResult {
  const equity = new Float64Array(panel.bars);
  const stats = emptyTradeStats();
  const trades: Trade[] = [];
  const open: OpenPosition[] = [];
  let exposedBars = 0;
  for (const part of partials) {
    for (let i = 0; i < equity.length; i++) equity[i]! += part.equity[i]!;
    stats.trades += part.stats.trades;
    stats.wins += part.stats.wins;
    stats.grossProfit += part.stats.grossProfit;
    stats.grossLoss += part.stats.grossLoss;
    exposedBars += part.exposedBars;
    materializeTrades(part.trades, panel.symbols, trades, options.maxTrades);
    for (const p of part.open) open.push({ ...p, symbol: panel.symbols[p.symbol]! });
  }
  const symbolBars = panel.symbols.length * Math.max(1, panel.bars - 1);
  return {
    strategy: spec,
    metrics: performanceMetrics(equity, periodsPerYear(options.interval, options.session), stats, exposedBars / symbolBars),
    trades,
    open,
    equity: { ts: panel.ts.subarray(0, panel.bars), value: equity },
    symbols: panel.symbols.length,
    bars: panel.bars,
  };
}

/** A whole portfolio on the calling thread (small universes, and the reference for the pool path). */
export function runPortfolioBacktest(panel: BarPanel, spec: StrategySpec, options: BacktestOptions): BacktestResult {
  const scratch = new Scratch();
  const partials = portfolioChunks(panel.symbols.length).map(([from, to]) => runPortfolioChunk(panel, panel.symbols.length, spec, options, from, to, scratch));
  return mergePortfolio(panel, spec, options, partials);
}
