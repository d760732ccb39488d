/**
 * Performance metrics from an equity curve, in one pass with no allocation. Conventions:
 * simple per-bar returns, risk-free rate 0, sample standard deviation (n − 1), Sortino's downside
 * deviation against a 0 target over all n returns, drawdown as a positive fraction of the peak.
 * Ratios that are undefined (no variance, no losing bar) are null rather than Infinity/NaN, so
 * results serialize to JSON unchanged.
 */
import type { BarInterval } from './series.ts';

/** `exchange`: 252 sessions of 6.5 h; `continuous`: 365 days of 24 h (crypto, the simulated 24/7 feed). */
export type Session = 'exchange' | 'continuous';

const MINUTES: Record<BarInterval, number> = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '1d': 0 };

/** Bars per year, the annualization factor for returns and volatility. */
export function periodsPerYear(interval: BarInterval, session: Session = 'exchange'): number {
  const minutes = MINUTES[interval];
  if (minutes === 0) return session === 'exchange' ? 252 : 365;
  return session === 'exchange' ? (252 * 390) / minutes : (365 * 1440) / minutes;
}

export interface EquityMetrics {
  totalReturn: number;
  cagr: number;
  /** Annualized volatility of bar returns. */
  volatility: number;
  sharpe: number | null;
  sortino: number | null;
  maxDrawdown: number;
}

export interface PerformanceMetrics extends EquityMetrics {
  winRate: number | null;
  trades: number;
  /** Gross profit of winning trades / gross loss of losing ones. */
  profitFactor: number | null;
  /** Fraction of bars with an open position (averaged over symbols for a portfolio). */
  exposure: number;
}

/**
 * Metrics of an equity curve whose first value is the starting capital (the engine's bar 0, before
 * any fill): returns are equity[i] / equity[i − 1] − 1 for i ≥ 1, and years = returns / periods.
 */
export function equityMetrics(equity: Float64Array, periods: number): EquityMetrics {
  const n = equity.length - 1; // number of returns
  const initial = equity[0] ?? 0;
  const final = n > 0 ? equity[n]! : initial;
  let sum = 0;
  let sumSq = 0;
  let downSq = 0;
  let peak = initial;
  let maxDrawdown = 0;
  // The sign of a return is a coin flip, so the downside part is computed without a branch
  // ((r − |r|) / 2 is r when negative, else 0); new peaks and new maximum drawdowns are rare, so
  // their branches predict well and the drawdown division runs only when taken.
  let prev = initial;
  for (let i = 1; i <= n; i++) {
    const e = equity[i]!;
    const r = prev !== 0 ? e / prev - 1 : 0;
    const down = (r - Math.abs(r)) * 0.5;
    sum += r;
    sumSq += r * r;
    downSq += down * down;
    if (e > peak) peak = e;
    else if (e < peak * (1 - maxDrawdown)) maxDrawdown = 1 - e / peak;
    prev = e;
  }
  const mean = n > 0 ? sum / n : 0;
  const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
  const sd = Math.sqrt(variance);
  const downside = n > 0 ? Math.sqrt(downSq / n) : 0;
  const annual = Math.sqrt(periods);
  const years = n / periods;
  const growth = initial > 0 ? final / initial : 0;
  return {
    totalReturn: initial > 0 ? growth - 1 : 0,
    cagr: years > 0 ? (growth > 0 ? Math.pow(growth, 1 / years) - 1 : -1) : 0,
    volatility: sd * annual,
    sharpe: sd > 0 ? (mean / sd) * annual : null,
    sortino: downside > 0 ? (mean / downside) * annual : null,
    maxDrawdown,
  };
}

/** Running trade statistics, merged across symbols and worker chunks. */
export interface TradeStats {
  trades: number;
  wins: number;
  grossProfit: number;
  grossLoss: number;
}

export function emptyTradeStats(): TradeStats {
  return { trades: 0, wins: 0, grossProfit: 0, grossLoss: 0 };
}

export function performanceMetrics(equity: Float64Array, periods: number, stats: TradeStats, exposure: number): PerformanceMetrics {
  return {
    ...equityMetrics(equity, periods),
    winRate: stats.trades > 0 ? stats.wins / stats.trades : null,
    trades: stats.trades,
    profitFactor: stats.grossLoss > 0 ? stats.grossProfit / stats.grossLoss : null,
    exposure,
  };
}
