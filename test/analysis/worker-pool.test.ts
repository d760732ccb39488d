import { afterAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BACKTEST_OPTIONS } from '../../src/analysis/backtest-options.ts';
import { runBacktest, runPortfolioBacktest } from '../../src/analysis/backtest.ts';
import { predict, validatePredictOptions } from '../../src/analysis/predict.ts';
import { allocPanel, randomWalkPanel, randomWalkSeries } from '../../src/analysis/series.ts';
import { validateParams } from '../../src/analysis/strategies/catalogue.ts';
import { AnalysisPool, TaskTimeoutError } from '../../src/analysis/worker-pool.ts';

describe('analysis worker pool (real worker, TypeScript through tsx)', () => {
  const pool = new AnalysisPool({ threads: 2 });
  afterAll(() => pool.close());

  it('runs a backtest off-thread with the same result as inline', async () => {
    const series = randomWalkSeries(3000, 2);
    const spec = validateParams('mean_reversion', {});
    const options = { ...DEFAULT_BACKTEST_OPTIONS, allowShort: true };
    expect(await pool.backtest('A', series, spec, options)).toEqual(runBacktest('A', series, spec, options));
  });

  it('fans a portfolio out in chunks and matches the inline run exactly', async () => {
    const panel = randomWalkPanel(200, 250, 4);
    const spec = validateParams('sma_crossover', { fastPeriod: 5, slowPeriod: 20 });
    const options = { ...DEFAULT_BACKTEST_OPTIONS, fractionalShares: true };
    expect(await pool.portfolio(panel, spec, options)).toEqual(runPortfolioBacktest(panel, spec, options));
    // A panel in ordinary memory is copied once into shared memory and gives the same answer.
    const plain = allocPanel(panel.symbols, panel.bars, false);
    for (const key of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) plain[key].set(panel[key]);
    expect((await pool.portfolio(plain, spec, options)).metrics).toEqual(runPortfolioBacktest(panel, spec, options).metrics);
  });

  it('predicts off-thread', async () => {
    const series = randomWalkSeries(800, 6);
    const options = validatePredictOptions({ horizon: 3 });
    expect(await pool.predict(series, options)).toEqual(predict(series, options));
  });
});

describe('worker pool failures', () => {
  const pool = new AnalysisPool({ threads: 1, filename: new URL('./fixtures/faulty-worker.mjs', import.meta.url), maxMemoryMb: 32 });
  afterAll(() => pool.close());

  it('a throwing task fails cleanly and the pool keeps serving', async () => {
    await expect(pool.run({ kind: 'throw' })).rejects.toThrow('boom');
    await expect(pool.run({ kind: 'echo', value: 1 })).resolves.toMatchObject({ echo: 1 });
  });

  it('a task past its deadline is terminated and the pool keeps serving', async () => {
    await expect(pool.run({ kind: 'spin' }, { timeoutMs: 50 })).rejects.toBeInstanceOf(TaskTimeoutError);
    await expect(pool.run({ kind: 'echo', value: 2 })).resolves.toMatchObject({ echo: 2 });
  });

  it('a task over the memory limit kills only its thread', async () => {
    await expect(pool.run({ kind: 'oom' })).rejects.toThrow(/memory/i);
    await expect(pool.run({ kind: 'echo', value: 3 })).resolves.toMatchObject({ echo: 3 });
  });

  it('the caller can cancel a running task', async () => {
    const abort = new AbortController();
    const running = pool.run({ kind: 'spin' }, { signal: abort.signal });
    abort.abort(new Error('cancelled by user'));
    await expect(running).rejects.toThrow('cancelled by user');
    await expect(pool.run({ kind: 'echo', value: 4 })).resolves.toMatchObject({ echo: 4 });
  });
});

describe('worker pool threads on demand', () => {
  const pool = new AnalysisPool({ threads: 2, filename: new URL('./fixtures/faulty-worker.mjs', import.meta.url), idleTimeoutMs: 100 });
  afterAll(() => pool.close());

  it('starts no thread before the first task and stops its threads once idle', async () => {
    expect(pool.stats().threads).toBe(0);
    await expect(pool.run({ kind: 'echo', value: 1 })).resolves.toMatchObject({ echo: 1 });
    expect(pool.stats().threads).toBeGreaterThan(0);
    await vi.waitFor(() => expect(pool.stats().threads).toBe(0), { timeout: 30_000, interval: 50 });
    // The next task starts a thread again.
    await expect(pool.run({ kind: 'echo', value: 2 })).resolves.toMatchObject({ echo: 2 });
    expect(pool.stats().completed).toBe(2);
  });
});
