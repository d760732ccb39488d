import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKTEST_LIMITS, DEFAULT_BACKTEST_OPTIONS, planBacktest, validateBacktestOptions, type BacktestOptions } from '../../src/analysis/backtest-options.ts';
import { runBacktest, runPortfolioBacktest, runPortfolioChunk, mergePortfolio, portfolioChunks } from '../../src/analysis/backtest.ts';
import { randomWalkPanel, randomWalkSeries, seriesFromCloses } from '../../src/analysis/series.ts';
import { validateParams } from '../../src/analysis/strategies/catalogue.ts';
import { BadRequestError, UnprocessableError } from '../../src/kernel/errors.ts';

// Momentum(1, 0) signals follow the sign of each close change: 0,0,1,1,−1,−1,−1.
const closes = [10, 10, 11, 12, 11, 10, 10]; // opens are the previous closes: 10,10,10,11,12,11,10
const spec = validateParams('momentum', { lookback: 1, threshold: 0 });
const frictionless: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, initialCash: 1000, commissionBps: 0, slippageBps: 0 };

describe('backtest engine (hand-computed)', () => {
  it('fills at the next bar open, whole shares, long-only', () => {
    const r = runBacktest('T', seriesFromCloses(closes), spec, frictionless);
    // bar 3: buy floor(1000/11)=90 @ 11, cash 10; bar 5: sell 90 @ 11
    expect(Array.from(r.equity.value)).toEqual([1000, 1000, 1000, 1090, 1000, 1000, 1000]);
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ side: 'long', entryPrice: 11, exitPrice: 11, quantity: 90, pnl: 0, bars: 2 });
    expect(r.open).toEqual([]);
    expect(r.metrics.trades).toBe(1);
    expect(r.metrics.winRate).toBe(0);
    expect(r.metrics.exposure).toBeCloseTo(2 / 6, 12);
  });

  it('charges slippage and both commissions', () => {
    const r = runBacktest('T', seriesFromCloses(closes), spec, { ...frictionless, slippageBps: 100, commissionBps: 10, commissionPerTrade: 1 });
    // buy @ 11.11, q = floor(999 / (11.11·1.001)) = 89; sell @ 10.89; fees 1.98879 + 1.96921
    const t = r.trades[0]!;
    expect(t.entryPrice).toBeCloseTo(11.11, 12);
    expect(t.exitPrice).toBeCloseTo(10.89, 12);
    expect(t.quantity).toBe(89);
    expect(t.pnl).toBeCloseTo(89 * (10.89 - 11.11) - 1.98879 - 1.96921, 9);
    expect(r.equity.value[6]).toBeCloseTo(1000 + t.pnl, 9);
  });

  it('reverses into a short when shorting is allowed, marking the open position', () => {
    const r = runBacktest('T', seriesFromCloses(closes), spec, { ...frictionless, allowShort: true });
    // bar 5: sell the long @ 11 (cash 1000), short 90 @ 11 (cash 1990); marked at 10 → 1090
    expect(Array.from(r.equity.value)).toEqual([1000, 1000, 1000, 1090, 1000, 1090, 1090]);
    expect(r.open).toEqual([{ symbol: 'T', side: 'short', entryTs: r.equity.ts[5], entryPrice: 11, quantity: 90 }]);
  });

  it('is deterministic for the same input', () => {
    const series = randomWalkSeries(5000, 7);
    const s = validateParams('sma_crossover', { fastPeriod: 5, slowPeriod: 20 });
    const a = runBacktest('X', series, s, { ...DEFAULT_BACKTEST_OPTIONS, allowShort: true });
    const b = runBacktest('X', randomWalkSeries(5000, 7), s, { ...DEFAULT_BACKTEST_OPTIONS, allowShort: true });
    expect(a.metrics.trades).toBeGreaterThan(10);
    expect(b).toEqual(a);
  });

  it('a portfolio is the sum of equal sleeves, identical however the chunks are computed', () => {
    const panel = randomWalkPanel(150, 300, 11);
    const s = validateParams('breakout', {});
    const opts = { ...DEFAULT_BACKTEST_OPTIONS, fractionalShares: true };
    const inline = runPortfolioBacktest(panel, s, opts);
    const reversed = portfolioChunks(150).reverse().map(([f, t]) => runPortfolioChunk(panel, 150, s, opts, f, t)).reverse();
    expect(mergePortfolio(panel, s, opts, reversed)).toEqual(inline);
    expect(inline.equity.value[0]).toBeCloseTo(opts.initialCash, 6);
    expect(inline.symbols).toBe(150);
  });
});

describe('backtest options and limits', () => {
  it('fills defaults and names a wrong field', () => {
    expect(validateBacktestOptions({ allowShort: true }).allowShort).toBe(true);
    expect(() => validateBacktestOptions({ slippageBps: -1 })).toThrow(BadRequestError);
    expect(() => validateBacktestOptions({ slippageBps: -1 })).toThrow(/options\.slippageBps/);
  });

  it('plans inline, queue, or refuses with the limit', () => {
    expect(planBacktest(1, 98_280)).toBe('inline');
    expect(planBacktest(2000, 1260)).toBe('queue');
    try {
      planBacktest(100_000, 1000);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      expect((e as UnprocessableError).details).toMatchObject({ limit: DEFAULT_BACKTEST_LIMITS.maxSymbolBars });
    }
  });
});
