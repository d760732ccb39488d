// `npm run loadtest:smoke`: the smoke scenario (the full trading mix, every business check) for a few
// seconds against a whole platform built in-process, judged by its thresholds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { scenarioPath } from '../../src/loadtest/builtin.ts';
import type { RunResult } from '../../src/loadtest/results.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

let tp: TestPlatform;
let target: string;
let result: RunResult;

beforeAll(async () => {
  tp = await startTestPlatform(pglite, { market: { ...testConfig().market, tickRate: 500 } });
  // Two days of history for the mix's universe (the first 50 instruments listed), for backtests and predictions.
  const { marketData } = tp.platform;
  await seedHistory(tp.platform.db, { instruments: marketData.listInstruments({ limit: 50 }).items, marketClock: marketData.marketClock, days: 2, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: 1 });
  target = await tp.platform.listen();
  result = await runLoadTest(scenarioPath('smoke'), {
    target,
    name: 'smoke',
    env: { TACHYON_ADMIN_TOKEN: ADMIN_TOKEN },
    // Per-VU verification runs only if every iteration finishes: give a busy machine time for that.
    gracefulStop: '60s',
    // Here the platform shares its CPU with the generator and with parallel test files: correctness
    // thresholds stay strict, latency ones are loosened to what a busy CI machine always meets.
    thresholds: { http_req_duration: ['p(95)<10000'], order_ack_latency: ['p(95)<10000'] },
  });
}, 60_000);
afterAll(() => tp?.close());

describe('loadtest:smoke', () => {
  it('passes every threshold of the smoke scenario', () => {
    const failing = result.thresholds.filter((t) => !t.passed).map((t) => `${t.key}: ${t.source} (observed ${t.observed})`);
    // On failure, say where: the endpoints that failed and the iteration errors.
    const where = { endpoints: result.endpoints.filter((e) => e.failedRate > 0).map((e) => `${e.method} ${e.endpoint} ${(100 * e.failedRate).toFixed(1)}%`), errors: result.errors, slowest: result.endpoints.map((e) => `${e.endpoint} p95 ${e.latency.p95.toFixed(0)}ms`) };
    expect(failing, JSON.stringify(where)).toEqual([]);
    expect(result.status).toBe('passed');
    expect(result.exitCode).toBe(0);
  });

  it('reports the business metrics beside the HTTP figures', () => {
    expect(result.metrics.http_reqs).toMatchObject({ kind: 'counter', count: expect.any(Number) });
    // 20/s for 5 s: each arrival ran or, on a machine too busy for 5 VUs, was dropped (k6's semantics).
    const ran = (result.metrics.iterations as { count: number }).count;
    expect(ran + (result.metrics.dropped_iterations as { count: number }).count).toBe(100);
    expect(ran).toBeGreaterThan(0);
    for (const name of ['orders_missing', 'portfolio_mismatches', 'orders_verified']) expect(result.metrics[name]?.kind, name).toBe('counter');
    expect(result.metrics.orders_missing).toMatchObject({ count: 0 });
    expect(result.metrics.portfolio_mismatches).toMatchObject({ count: 0 });
  });
});
