/**
 * Cost limits of the analysis API (issue #12): distinct symbols, the symbols × bars cap, a main
 * thread that keeps serving while a large panel loads (other requests are answered meanwhile, on
 * the embedded engine whose queries run on this thread; no loop-delay threshold: the machines are
 * shared, and a descheduled process shows delays no code caused), and per-user concurrency limits
 * (429 with Retry-After).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { StoreBarSource } from '../../src/analysis/store-bar-source.ts';
import { systemClock } from '../../src/kernel/clock.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const DAY = 86_400_000;

describe('analysis cost limits (embedded engine)', () => {
  let t: TestPlatform;
  let symbols: string[];
  const now = Date.now();

  beforeAll(async () => {
    t = await startTestPlatform(pglite, {
      market: { ...testConfig().market, instruments: 60 },
      analysis: { ...testConfig().analysis, threads: 1, queueConcurrency: 1, userLimits: { backtests: 1, predictions: 1, tasks: 1 } },
    });
    const { marketData, db } = t.platform;
    await seedHistory(db, { instruments: marketData.instruments, marketClock: marketData.marketClock, days: 2, endMs: now, seed: 7 });
    symbols = marketData.instruments.map((i) => i.symbol);
  });
  afterAll(() => t?.close());

  const backtestBody = (list: string[], interval = '5m') => ({ symbols: list, interval, from: now - 2 * DAY, to: now, strategy: { type: 'sma_crossover' } });
  /** Waits until the user holds a slot (the first request got past authentication and validation). */
  const untilHeld = async (work: 'backtests' | 'predictions', userId: number) => {
    const deadline = Date.now() + 10_000; // a failure bound, not a measurement
    while (t.platform.analysis.service.userLimits.held(work, userId) === 0) {
      if (Date.now() > deadline) throw new Error(`no ${work} slot taken`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const post = (url: string, payload: object) => t.platform.app.inject({ method: 'POST', url, headers: t.trader, payload });

  it('refuses duplicate symbols with a 400 naming the field, before any bar is read', async () => {
    const repeated = Array.from({ length: 5000 }, (_, i) => symbols[i % 3]!);
    const res = await post('/api/backtests', backtestBody(repeated));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ field: 'symbols', duplicates: expect.arrayContaining([symbols[0]]) });
    // The same symbol in another case is the same symbol.
    expect((await post('/api/backtests', backtestBody([symbols[0]!, symbols[0]!.toLowerCase()]))).statusCode).toBe(400);
  });

  it('reads the same bars in time-sliced windows as in one query per symbol', async () => {
    const windowed = new StoreBarSource(t.platform.marketData, systemClock, 'embedded');
    const whole = new StoreBarSource(t.platform.marketData, systemClock, 'server');
    const some = symbols.slice(0, 3);
    for (const interval of ['1m', '15m', '1h', '1d'] as const) {
      // Ranges that start off any window boundary and span several windows.
      const from = now - 2 * DAY + 7 * 60_000 + 13;
      expect(await windowed.panel(some, interval, from, now)).toEqual(await whole.panel(some, interval, from, now));
      for (const bars of [1, 50, 900]) expect(await windowed.recent(some[0]!, interval, bars)).toEqual(await whole.recent(some[0]!, interval, bars));
    }
    expect((await windowed.recent(some[0]!, '1m', 900)).length).toBe(900);
  });

  it('refuses symbols × bars above the cap with a 422 naming the limit', async () => {
    const res = await post('/api/backtests', { ...backtestBody(symbols.slice(0, 100), '1m'), from: now - 365 * DAY });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'backtest_too_large', limit: 5_000_000 });
  });

  it('keeps the event loop responsive while a many-symbol panel loads, and other requests are served meanwhile', async () => {
    let healthAnswered = 0;
    let done = false;
    const probe = (async () => {
      while (!done) {
        const res = await t.platform.app.inject({ method: 'GET', url: '/api/health' });
        if (res.statusCode === 200 && !done) healthAnswered++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const res = await post('/api/backtests', backtestBody(symbols)).finally(() => (done = true));
    await probe;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ symbols: symbols.length });
    expect(healthAnswered).toBeGreaterThan(0);
  });

  it('answers 429 with Retry-After when a user already has a backtest in progress; other users are not limited', async () => {
    const user = await t.platform.users.create({ name: 'cost-backtests', role: 'trader', openingCash: 1_000 });
    const headers = { authorization: `Bearer ${user.token}` };
    const first = t.platform.app.inject({ method: 'POST', url: '/api/backtests', headers, payload: backtestBody(symbols, '1d') });
    await untilHeld('backtests', user.userId);
    const second = await t.platform.app.inject({ method: 'POST', url: '/api/backtests', headers, payload: backtestBody(symbols.slice(0, 2)) });
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.headers['content-type']).toContain('application/problem+json');
    expect(second.json()).toMatchObject({ code: 'rate_limited', work: 'backtests', limit: 1 });
    expect((await post('/api/backtests', backtestBody(symbols.slice(0, 2)))).statusCode).toBe(200); // another user
    expect((await first).statusCode).toBe(200);
    // The slot is given back: the next one runs.
    expect((await t.platform.app.inject({ method: 'POST', url: '/api/backtests', headers, payload: backtestBody(symbols.slice(0, 2)) })).statusCode).toBe(200);
  });

  it('limits unfinished queued tasks per user, and frees the slot when the task finishes', async () => {
    const task = { type: 'analysis.backtest', payload: backtestBody(symbols, '1d') };
    const first = await post('/api/tasks', task);
    expect(first.statusCode).toBe(202);
    const second = await post('/api/tasks', task);
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBeDefined();
    expect(second.json()).toMatchObject({ work: 'tasks' });
    const record = await t.platform.analysis.queue.waitFor(first.json().id, 60_000);
    expect(record.status).toBe('completed');
    expect((await post('/api/tasks', task)).statusCode).toBe(202);
  });

  it('answers 429 to a forecast while the same user has one in progress', async () => {
    const user = await t.platform.users.create({ name: 'cost-predictions', role: 'trader', openingCash: 1_000 });
    const headers = { authorization: `Bearer ${user.token}` };
    const url = `/api/predictions/${symbols[0]}?interval=1m&window=600`;
    // A forecast takes microseconds: hold the slot as one in progress would.
    const release = t.platform.analysis.service.userLimits.acquire('predictions', user.userId);
    const refused = await t.platform.app.inject({ method: 'GET', url, headers });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ work: 'predictions' });
    release();
    expect((await t.platform.app.inject({ method: 'GET', url, headers })).statusCode).toBe(200);
  });

  it('counts the performance a strategy computes when saved as one of the user’s backtests', async () => {
    const user = await t.platform.users.create({ name: 'cost-strategies', role: 'trader', openingCash: 1_000 });
    const headers = { authorization: `Bearer ${user.token}` };
    const body = { name: 'limited', type: 'sma_crossover', config: { symbols: [symbols[0]], interval: '15m', lookbackDays: 2 } };
    const release = t.platform.analysis.service.userLimits.acquire('backtests', user.userId);
    const refused = await t.platform.app.inject({ method: 'POST', url: '/api/strategies', headers, payload: body });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ work: 'backtests' });
    release();
    expect((await t.platform.app.inject({ method: 'POST', url: '/api/strategies', headers, payload: body })).statusCode).toBe(201);
  });
});
