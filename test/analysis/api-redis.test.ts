/**
 * The platform with REDIS_URL: analysis tasks go through BullMQ on Redis (the scaled deployment),
 * and the API answers the same way as on the in-process queue.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BullMqTaskQueue } from '../../src/analysis/task-queue/bullmq.ts';
import { testConfig } from '../../src/config/config.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { deleteRedisKeys, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';

const available = await redisAvailable();
const prefix = redisPrefix('analysis-api').replace(/:$/, '');

describe.skipIf(!available)('analysis API with REDIS_URL (BullMQ queue)', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    const base = testConfig();
    t = await startTestPlatform(pglite, {
      redisUrl: REDIS_TEST_URL,
      market: { ...base.market, instruments: 4 },
      cache: { ...base.cache, prefix: `${prefix}:cache` },
      realtime: { ...base.realtime, busChannel: `${prefix}:bus` },
      analysis: { ...base.analysis, threads: 1, queuePrefix: `${prefix}:tasks`, inlineSymbolBars: 1_000 },
    });
    const { marketData, db } = t.platform;
    await seedHistory(db, { instruments: marketData.instruments, marketClock: marketData.marketClock, days: 2, endMs: Date.now(), seed: 3 });
  });

  afterAll(async () => {
    await t?.close();
    await deleteRedisKeys(prefix);
  });

  it('queues a large backtest on Redis and serves its result through GET /api/tasks/:id', async () => {
    expect(t.platform.analysis.queue).toBeInstanceOf(BullMqTaskQueue);
    const symbols = t.platform.marketData.instruments.slice(0, 3).map((i) => i.symbol);
    const now = Date.now();
    const res = await t.platform.app.inject({
      method: 'POST',
      url: '/api/backtests',
      headers: t.trader,
      payload: { symbols, interval: '1m', from: now - 86_400_000, to: now, strategy: { type: 'sma_crossover', params: { fastPeriod: 5, slowPeriod: 20 } } },
    });
    expect(res.statusCode).toBe(202);
    const location = res.headers.location as string;
    await vi.waitFor(async () => expect((await t.platform.app.inject({ method: 'GET', url: location, headers: t.trader })).json().status).toBe('completed'), {
      timeout: 20_000,
      interval: 50,
    });
    const task = (await t.platform.app.inject({ method: 'GET', url: location, headers: t.trader })).json();
    expect(task.result.symbols).toBe(3);
    expect(task.result.metrics.trades).toBeGreaterThan(0);
  });
});
