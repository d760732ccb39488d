import { describe, expect, it } from 'vitest';
import { equityMetrics, performanceMetrics, periodsPerYear } from '../../src/analysis/metrics.ts';

describe('metrics formulas', () => {
  it('known values for a 3-return equity curve', () => {
    // returns +10 %, −10 %, +10 %: mean 1/30, sample sd √(0.04/3), downside dev √(0.01/3)
    const m = equityMetrics(Float64Array.from([100, 110, 99, 108.9]), 252);
    expect(m.totalReturn).toBeCloseTo(0.089, 12);
    expect(m.maxDrawdown).toBeCloseTo(0.1, 12);
    expect(m.volatility).toBeCloseTo(Math.sqrt(0.04 / 3) * Math.sqrt(252), 10);
    expect(m.sharpe).toBeCloseTo((1 / 30 / Math.sqrt(0.04 / 3)) * Math.sqrt(252), 10); // 4.5826
    expect(m.sortino).toBeCloseTo((1 / 30 / Math.sqrt(0.01 / 3)) * Math.sqrt(252), 10); // 9.1652
    expect(m.cagr).toBeCloseTo(Math.pow(1.089, 252 / 3) - 1, 6);
  });

  it('CAGR over exactly one year of daily bars equals the total return', () => {
    const equity = Float64Array.from({ length: 253 }, (_, i) => 100 * Math.pow(1.2, i / 252));
    const m = equityMetrics(equity, 252);
    expect(m.cagr).toBeCloseTo(0.2, 10);
    expect(m.maxDrawdown).toBe(0);
    expect(m.sortino).toBeNull();
  });

  it('undefined ratios are null, not Infinity', () => {
    const m = equityMetrics(Float64Array.from([100, 100, 100]), 252);
    expect(m.sharpe).toBeNull();
    expect(m.sortino).toBeNull();
    expect(m.totalReturn).toBe(0);
  });

  it('trade statistics', () => {
    const m = performanceMetrics(Float64Array.from([1, 1]), 252, { trades: 4, wins: 3, grossProfit: 30, grossLoss: 10 }, 0.5);
    expect(m.winRate).toBe(0.75);
    expect(m.profitFactor).toBe(3);
    expect(m.trades).toBe(4);
  });

  it('annualization factors', () => {
    expect(periodsPerYear('1d')).toBe(252);
    expect(periodsPerYear('1d', 'continuous')).toBe(365);
    expect(periodsPerYear('1m')).toBe(98_280);
    expect(periodsPerYear('1m', 'continuous')).toBe(525_600);
    expect(periodsPerYear('1h')).toBe(1638);
  });
});
