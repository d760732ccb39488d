/**
 * The analysis HTTP API on both storage engines, over real stored history (the seeder's 1-minute
 * bars): catalogue, strategies with per-user isolation and performance, backtests inline and
 * queued, forecasts, and the task queue (create, poll, cancel).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { publishPartial } from '../support/bus-events.ts';

const DAY = 86_400_000;

describe.each(await engines())('analysis API on $name', (engine) => {
  let t: TestPlatform;
  let other: { authorization: string };
  let symbols: string[];
  const now = Date.now();

  beforeAll(async () => {
    t = await startTestPlatform(engine, {
      market: { ...testConfig().market, instruments: 6 },
      analysis: { ...testConfig().analysis, threads: 1, queueConcurrency: 1, inlineSymbolBars: 3_000, maxSymbolBars: 100_000 },
    });
    const { marketData, db } = t.platform;
    // Three trading days, the newest partial: the strategies' 2-day rolling window is full at any time of day
    // (two were yesterday and today's few minutes just after midnight UTC, 97 15-minute bars).
    await seedHistory(db, { instruments: marketData.instruments, marketClock: marketData.marketClock, days: 3, endMs: now, seed: 5 });
    symbols = marketData.instruments.map((i) => i.symbol);
    const created = await t.platform.users.create({ name: 'analysis-other', role: 'trader', openingCash: 1_000_000 });
    other = { authorization: `Bearer ${created.token}` };
  });
  afterAll(() => t?.close());

  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, headers = t.trader) =>
    t.platform.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });

  const strategyBody = (fastPeriod: number) => ({
    name: 'crossover',
    type: 'sma_crossover',
    config: { symbols: [symbols[0]], interval: '15m', lookbackDays: 2, params: { fastPeriod, slowPeriod: 20 } },
  });

  it('serves the catalogue: four strategy types with parameter schemas and defaults', async () => {
    const res = await api('GET', '/api/strategies/catalogue');
    expect(res.statusCode).toBe(200);
    const types = res.json<Array<{ type: string; parameters: { properties: object }; defaults: object }>>();
    expect(types.map((s) => s.type).sort()).toEqual(['breakout', 'mean_reversion', 'momentum', 'sma_crossover']);
    for (const s of types) expect(Object.keys(s.parameters.properties).sort()).toEqual(Object.keys(s.defaults).sort());
  });

  it('creates, lists, reads, replaces and deletes a strategy; another user sees 404', async () => {
    const created = await api('POST', '/api/strategies', strategyBody(5));
    expect(created.statusCode).toBe(201);
    const strategy = created.json();
    expect(strategy.config).toMatchObject({ symbols: [symbols[0]], interval: '15m', options: {} });
    expect(strategy.performance.error).toBeNull();
    expect(strategy.performance.window.bars).toBeGreaterThan(100);
    expect(strategy.performance.metrics).toHaveProperty('sharpe');
    expect(typeof strategy.performance.metrics.trades).toBe('number');

    const list = (await api('GET', '/api/strategies')).json<{ items: Array<{ id: number; performance: { metrics: object } | null }> }>();
    expect(list.items.find((s) => s.id === strategy.id)?.performance?.metrics).toEqual(strategy.performance.metrics);
    expect((await api('GET', '/api/strategies', undefined, other)).json().items).toEqual([]);

    const path = `/api/strategies/${strategy.id}`;
    expect((await api('GET', path)).json().name).toBe('crossover');
    expect((await api('GET', path, undefined, other)).statusCode).toBe(404);
    expect((await api('PUT', path, strategyBody(6), other)).statusCode).toBe(404);
    expect((await api('DELETE', path, undefined, other)).statusCode).toBe(404);
    expect((await api('GET', `${path}/performance`, undefined, other)).statusCode).toBe(404);

    const replaced = await api('PUT', path, { ...strategyBody(8), name: 'slower' });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ name: 'slower', config: { params: { fastPeriod: 8 } } });
    expect(replaced.json().performance.computedAt).toBeGreaterThanOrEqual(strategy.performance.computedAt);

    expect((await api('GET', `${path}/performance`)).statusCode).toBe(200); // now cached
    expect((await api('DELETE', path)).statusCode).toBe(204);
    expect((await api('GET', path)).statusCode).toBe(404);
    expect((await api('GET', `${path}/performance`)).statusCode).toBe(404);
  });

  it('refuses bad strategies with the field named', async () => {
    const bad = await api('POST', '/api/strategies', strategyBody(50));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('config.params.fastPeriod');
    const unknown = await api('POST', '/api/strategies', { ...strategyBody(5), config: { ...strategyBody(5).config, symbols: ['NOSUCH'] } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().field).toBe('config.symbols');
  });

  it('serves performance from the cache, written through when the strategy changes and when new bars arrive', async () => {
    const strategy = (await api('POST', '/api/strategies', strategyBody(5))).json<{ id: number }>();
    const path = `/api/strategies/${strategy.id}/performance`;
    const first = await api('GET', path);
    expect(first.statusCode).toBe(200);
    const second = await api('GET', path);
    expect(second.headers['cache-status']).toMatch(/hit/);
    expect(second.json()).toEqual(first.json());

    // The recomputation stores the answer itself: the next read is a hit with the new figures, never the old ones.
    const replaced = (await api('PUT', `/api/strategies/${strategy.id}`, strategyBody(7))).json<{ performance: { computedAt: number } }>();
    const afterChange = await api('GET', path);
    expect(afterChange.headers['cache-status']).toMatch(/hit/);
    expect(afterChange.json()).toEqual(replaced.performance);
    expect(afterChange.headers.etag).not.toBe(second.headers.etag);
    const changedAt = afterChange.json<{ computedAt: number }>().computedAt;

    // A bar of the strategy's symbol marks it dirty; the refresh queues a low-priority recomputation.
    t.platform.analysis.performance.start();
    publishPartial(t.platform.bus, `bar.1m.${symbols[0]}`, {});
    await t.platform.analysis.performance.flush();
    await vi.waitFor(
      async () => {
        const { rows } = await t.platform.db.query<{ computed_at: Date }>('SELECT computed_at FROM strategy_performance WHERE strategy_id = $1', [strategy.id]);
        expect(rows[0]!.computed_at.getTime()).toBeGreaterThan(changedAt);
      },
      { timeout: 10_000, interval: 50 },
    );
    await vi.waitFor(async () => expect((await api('GET', path)).json<{ computedAt: number }>().computedAt).toBeGreaterThan(changedAt), { timeout: 5_000, interval: 50 });
    const refreshed = await api('GET', path);
    expect(refreshed.headers['cache-status']).toMatch(/hit/);
    expect(refreshed.json<{ computedAt: number }>().computedAt).toBeGreaterThan(changedAt);
  });

  it('queues the performance of a strategy too large to compute in the request', async () => {
    const body = { ...strategyBody(5), config: { ...strategyBody(5).config, symbols: symbols.slice(0, 3), interval: '1m' } };
    const created = await api('POST', '/api/strategies', body);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ performance: null, performancePending: true });
    const path = `/api/strategies/${created.json().id}/performance`;
    // Until the queued computation lands: 202 (the strategy exists), never 404.
    const early = await api('GET', path);
    expect([200, 202]).toContain(early.statusCode);
    if (early.statusCode === 202) expect(early.json()).toEqual({ status: 'computing', strategyId: created.json().id });
    await vi.waitFor(async () => expect((await api('GET', path)).statusCode).toBe(200), { timeout: 20_000, interval: 50 });
    expect((await api('GET', path)).json().window.symbols).toBe(3);
  });

  it('backtests: 200 inline, 202 queued with a task link, 400 naming the field, 422 stating the limit', async () => {
    const base = { interval: '1m', from: now - DAY, to: now, strategy: { type: 'sma_crossover', params: { fastPeriod: 5, slowPeriod: 20 } } };
    const inline = await api('POST', '/api/backtests', { ...base, symbols: [symbols[0]] });
    expect(inline.statusCode).toBe(200);
    const result = inline.json();
    expect(result.bars).toBeGreaterThan(1000);
    expect(result.equity.value).toHaveLength(result.bars);
    expect(result.metrics.trades).toBeGreaterThan(0);
    expect(result.trades[0].symbol).toBe(symbols[0]);

    const queued = await api('POST', '/api/backtests', { ...base, symbols: symbols.slice(0, 3), from: new Date(now - DAY).toISOString() });
    expect(queued.statusCode).toBe(202);
    const location = queued.headers.location as string;
    expect(location).toBe(`/api/tasks/${queued.json().taskId}`);
    await vi.waitFor(async () => expect((await api('GET', location)).json().status).toBe('completed'), { timeout: 20_000, interval: 50 });
    const task = (await api('GET', location)).json();
    expect(task.result.symbols).toBe(3);
    expect((await api('GET', location, undefined, other)).statusCode).toBe(404);

    const bad = await api('POST', '/api/backtests', { ...base, symbols: [symbols[0]], strategy: { type: 'sma_crossover', params: { fastPeriod: 1 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('params.fastPeriod');
    const badType = await api('POST', '/api/backtests', { ...base, symbols: [symbols[0]], strategy: { type: 'astrology' } });
    expect(badType.statusCode).toBe(400);
    expect(badType.json().field).toBe('strategy.type');

    const empty = await api('POST', '/api/backtests', { ...base, symbols: [symbols[0]], from: now - 400 * DAY, to: now - 399 * DAY });
    expect(empty.statusCode).toBe(422);
    expect(empty.json().code).toBe('no_bars');

    const tooLarge = await api('POST', '/api/backtests', { ...base, symbols, from: now - 30 * DAY });
    expect(tooLarge.statusCode).toBe(422);
    expect(tooLarge.json()).toMatchObject({ code: 'backtest_too_large', limit: 100_000 });
  });

  it('forecasts with a confidence interval, the model and its data window', async () => {
    const res = await api('GET', `/api/predictions/${symbols[1]}?horizon=3&window=300`);
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p.model).toMatch(/^AR\(\d+\)/);
    expect(p.window.bars).toBe(300);
    expect(p.window.to).toBeLessThanOrEqual(now);
    expect(p.forecast).toHaveLength(3);
    for (const f of p.forecast) {
      expect(f.lower).toBeLessThan(f.price);
      expect(f.price).toBeLessThan(f.upper);
    }
    const ewma = await api('GET', `/api/predictions/${symbols[1]}?model=ewma&interval=5m`);
    expect(ewma.json().model).toMatch(/^EWMA/);
    expect((await api('GET', '/api/predictions/NOSUCH')).statusCode).toBe(404);
    expect((await api('GET', `/api/predictions/${symbols[1]}?horizon=0`)).statusCode).toBe(400);
  });

  it('creates, polls and cancels tasks; another user sees 404; a finished task cannot be cancelled', async () => {
    const created = await api('POST', '/api/tasks', { type: 'analysis.predict', payload: { symbol: symbols[2], interval: '1m', options: { horizon: 2 } }, priority: 'high' });
    expect(created.statusCode).toBe(202);
    const id = created.json<{ id: string }>().id;
    await vi.waitFor(async () => expect((await api('GET', `/api/tasks/${id}`)).json().status).toBe('completed'), { timeout: 10_000, interval: 20 });
    expect((await api('GET', `/api/tasks/${id}`)).json().result.forecast).toHaveLength(2);
    expect((await api('GET', `/api/tasks/${id}`, undefined, other)).statusCode).toBe(404);
    expect((await api('DELETE', `/api/tasks/${id}`, undefined, other)).statusCode).toBe(404);
    expect((await api('DELETE', `/api/tasks/${id}`)).statusCode).toBe(409);
    expect((await api('GET', '/api/tasks/not-a-task')).statusCode).toBe(404);

    const badPayload = await api('POST', '/api/tasks', { type: 'analysis.predict', payload: { symbol: symbols[2], options: { horizon: 0 } } });
    expect(badPayload.statusCode).toBe(400);
    expect((await api('POST', '/api/tasks', { type: 'analysis.performance', payload: {} })).statusCode).toBe(400);

    // Occupy the single queue slot so the next task stays queued, then cancel it.
    const queue = t.platform.analysis.queue;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    queue.register({ type: 'test.block', handler: async (tasks) => (await blocked, tasks.map(() => null)) });
    const blocker = await queue.enqueue({ type: 'test.block', payload: null, priority: 'critical' });
    await vi.waitFor(async () => expect((await queue.get(blocker))?.status).toBe('running'));
    const waiting = (await api('POST', '/api/tasks', { type: 'analysis.predict', payload: { symbol: symbols[2], interval: '1m' } })).json<{ id: string }>().id;
    const cancelled = await api('DELETE', `/api/tasks/${waiting}`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    expect((await api('GET', `/api/tasks/${waiting}`)).json().status).toBe('cancelled');
    release();
    await queue.waitFor(blocker);
  });

  it('exposes the queue depth, wait and execution times and completion rate as metrics', async () => {
    const text = await t.platform.observability.metrics.text();
    expect(text).toMatch(/^tachyon_task_queue_depth \d+$/m);
    expect(text).toMatch(/^tachyon_task_queue_completed_total\{type="analysis.predict"\} [1-9]/m);
    expect(text).toMatch(/^tachyon_task_queue_wait_ms_p95\{type="analysis.backtest"\} /m);
    expect(text).toMatch(/^tachyon_task_queue_execution_ms_p95\{type="analysis.backtest"\} /m);
    expect(text).toMatch(/^tachyon_task_queue_completion_rate [01]/m);
  });
});
