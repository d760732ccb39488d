/**
 * Load runs reuse their VU accounts: a second run against the same target adds no users, takes the
 * accounts over with fresh tokens (the previous run's stop working), starts from their current cash
 * and positions, and still reconciles every account exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { scenarioPath } from '../../src/loadtest/builtin.ts';
import type { RunResult } from '../../src/loadtest/results.ts';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { VU_USER_PREFIX } from '../../src/loadtest/trading/accounts.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

let tp: TestPlatform;
let target: string;

const run = (): Promise<RunResult> =>
  runLoadTest(scenarioPath('smoke'), {
    target,
    name: 'smoke',
    duration: '2s',
    // Per-VU verification runs only if every iteration finishes: give a busy machine time for that.
    gracefulStop: '60s',
    env: { TACHYON_ADMIN_TOKEN: ADMIN_TOKEN },
    // Correctness thresholds stay strict; latency ones are loosened for a shared machine.
    thresholds: { http_req_duration: ['p(95)<10000'], order_ack_latency: ['p(95)<10000'] },
  });

const vuUsers = async () =>
  (await tp.platform.db.query<{ name: string }>('SELECT name FROM users WHERE name LIKE $1 ORDER BY name', [`${VU_USER_PREFIX}%`])).rows.map((r) => r.name);

beforeAll(async () => {
  tp = await startTestPlatform(pglite, { market: { ...testConfig().market, tickRate: 200 } });
  // History for the mix's universe (the first 50 instruments listed): its backtests and predictions need it.
  // Two trading days, the newest partial: just after midnight UTC, today alone has too few bars to predict from.
  const { marketData } = tp.platform;
  await seedHistory(tp.platform.db, { instruments: marketData.listInstruments({ limit: 50 }).items, marketClock: marketData.marketClock, days: 2, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: 1 });
  target = await tp.platform.listen();
}, 60_000);
afterAll(() => tp?.close());

describe('VU accounts across load runs', () => {
  it('a second run reuses the first run’s accounts and reconciles them from their current state', async () => {
    const failing = (r: RunResult) => ({
      thresholds: r.thresholds.filter((t) => !t.passed).map((t) => `${t.key}: ${t.source} (observed ${t.observed})`),
      where: { endpoints: r.endpoints.filter((e) => e.failedRate > 0).map((e) => `${e.method} ${e.endpoint} ${(100 * e.failedRate).toFixed(1)}%`), errors: r.errors },
    });
    const first = await run();
    expect(failing(first).thresholds, JSON.stringify(failing(first).where)).toEqual([]);
    const users = await vuUsers();
    expect(users.length).toBeGreaterThan(0);
    const { rows: keysBefore } = await tp.platform.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL');

    const second = await run();
    expect(await vuUsers()).toEqual(users);
    expect(second.metrics.portfolio_mismatches).toMatchObject({ count: 0 });
    expect(second.metrics.orders_missing).toMatchObject({ count: 0 });
    expect(failing(second).thresholds, JSON.stringify(failing(second).where)).toEqual([]);
    // One live run token per reused account at most: tokens do not pile up either.
    const { rows: keysAfter } = await tp.platform.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL');
    expect(keysAfter[0]!.n - keysBefore[0]!.n).toBeLessThanOrEqual(users.length);
  }, 120_000);
});
