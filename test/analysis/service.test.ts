import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKTEST_OPTIONS } from '../../src/analysis/backtest-options.ts';
import { runPortfolioBacktest } from '../../src/analysis/backtest.ts';
import { AnalysisService, BACKTEST_TASK, backtestToJson, type BarSource } from '../../src/analysis/service.ts';
import { randomWalkPanel, randomWalkSeries, type BarInterval } from '../../src/analysis/series.ts';
import { validateParams } from '../../src/analysis/strategies/catalogue.ts';
import { InProcessTaskQueue } from '../../src/analysis/task-queue/in-process.ts';
import { AnalysisPool } from '../../src/analysis/worker-pool.ts';
import { BadRequestError, UnprocessableError } from '../../src/kernel/errors.ts';
import { FeatureFlags } from '../../src/config/flags.ts';

const DAY = 86_400_000;
const START = Date.UTC(2021, 0, 1);

/** Deterministic bars for any request (what the market-data store will provide). */
const bars: BarSource = {
  exists: (symbol) => symbol !== 'NOPE',
  async panel(symbols, _interval: BarInterval, from, to) {
    const n = Math.floor((to - from) / DAY) + 1;
    const panel = randomWalkPanel(symbols.length, n, 99, DAY, from);
    panel.symbols = symbols;
    return panel;
  },
  async recent(_symbol, _interval, count) {
    return randomWalkSeries(count, 5);
  },
};

const pool = new AnalysisPool({ threads: 2 });
const queue = new InProcessTaskQueue({ concurrency: 1 });
const flags = new FeatureFlags();
const service = new AnalysisService({ pool, queue, bars, flags, limits: { maxSymbolBars: 100_000, inlineSymbolBars: 5_000 } });
service.registerTasks();
afterAll(async () => {
  await queue.close();
  await pool.close();
});

const strategy = { type: 'sma_crossover', params: { fastPeriod: 5, slowPeriod: 20 } };

describe('analysis service', () => {
  it('answers a small backtest inline with metrics, trades and a JSON-ready equity curve', async () => {
    const answer = await service.backtest({ symbols: ['AAA'], interval: '1d', from: START, to: START + 499 * DAY, strategy });
    expect(answer.status).toBe('completed');
    if (answer.status !== 'completed') return;
    expect(answer.result.metrics.trades).toBeGreaterThan(0);
    expect(answer.result.equity.value).toHaveLength(500);
    expect(answer.result.trades[0]!.symbol).toBe('AAA');
    expect(JSON.parse(JSON.stringify(answer.result))).toEqual(answer.result);
  });

  it('queues a large backtest, whose task result equals the inline computation', async () => {
    const request = { symbols: Array.from({ length: 40 }, (_, i) => `S${i}`), interval: '1d' as const, from: START, to: START + 299 * DAY, strategy };
    const answer = await service.backtest(request, 'high');
    expect(answer.status).toBe('queued');
    if (answer.status !== 'queued') return;
    const record = await queue.waitFor(answer.taskId);
    expect(record).toMatchObject({ status: 'completed', type: BACKTEST_TASK, priority: 'high' });
    const panel = await bars.panel(request.symbols, '1d', request.from, request.to);
    const expected = runPortfolioBacktest(panel, validateParams(strategy.type, strategy.params), { ...DEFAULT_BACKTEST_OPTIONS, interval: '1d' });
    expect(record.result).toEqual(backtestToJson(expected));
  });

  it('gives the same answer with the worker-pool flag off (the baseline on the calling thread)', async () => {
    const request = { symbols: ['AAA', 'BBB'], interval: '1d' as const, from: START, to: START + 199 * DAY, strategy };
    const pooled = await service.backtest(request);
    flags.set('analysis.worker-pool', false);
    try {
      expect(await service.backtest(request)).toEqual(pooled);
    } finally {
      flags.set('analysis.worker-pool', true);
    }
  });

  it('400 names the bad field; 422 states the limit', async () => {
    const base = { symbols: ['A'], interval: '1d' as const, from: START, to: START + 10 * DAY, strategy };
    await expect(service.backtest({ ...base, strategy: { type: 'sma_crossover', params: { fastPeriod: 1 } } })).rejects.toThrow('params.fastPeriod must be ≥ 2');
    await expect(service.backtest({ ...base, options: { commissionBps: -1 } })).rejects.toThrow(BadRequestError);
    await expect(service.backtest({ ...base, symbols: [] })).rejects.toThrow(BadRequestError);
    const tooBig = service.backtest({ ...base, symbols: Array.from({ length: 200 }, (_, i) => `S${i}`), to: START + 999 * DAY });
    await expect(tooBig).rejects.toBeInstanceOf(UnprocessableError);
    await expect(tooBig).rejects.toMatchObject({ status: 422, details: { limit: 100_000 } });
  });

  it('forecasts from the recent history with the model and its window', async () => {
    const p = await service.predict({ symbol: 'AAA', interval: '1d', options: { horizon: 3, window: 250 } });
    expect(p.model).toMatch(/^AR\(\d+\) Yule-Walker/);
    expect(p.window.bars).toBe(250);
    expect(p.forecast).toHaveLength(3);
    await expect(service.predict({ symbol: 'AAA', interval: '1d', options: { confidence: 2 } })).rejects.toThrow(/^confidence/);
  });
});
