/**
 * Cache warming before readiness: until the warm-up has ended the instance is not ready (check `cache`);
 * the warm-up's requests go over the loopback; once `listen()` resolves, the instrument list and a strategy's performance (as its owner) answer from L1
 * on the first real request, and the most traded symbol (by the last day's executions) was warmed first.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrategyStore } from '../../src/analysis/strategy-store.ts';
import { hashToken } from '../../src/auth/tokens.ts';
import { testConfig } from '../../src/config/config.ts';
import { INTERNAL_TICKET_HEADER } from '../../src/http/access.ts';
import { engines } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

describe.each(await engines())('cache warming on $name', (engine) => {
  let t: TestPlatform;
  let strategyId: number;
  let traded: string;

  beforeAll(async () => {
    const base = testConfig().cache;
    t = await startTestPlatform(engine, { cache: { ...base, warm: { symbols: 3, strategies: 10, timeoutMs: 120_000 } } });
    const { db } = t.platform;
    const owner = (await db.query<{ id: string; account: string }>(
      'SELECT k.user_id AS id, a.id AS account FROM api_keys k JOIN accounts a ON a.user_id = k.user_id WHERE k.token_hash = $1 LIMIT 1',
      [hashToken(DEMO_TOKEN)],
    )).rows[0]!;
    const strategies = new StrategyStore(db);
    const strategy = await strategies.create(Number(owner.id), { name: 'warm', type: 'sma_crossover', config: { symbols: ['AAPL'], interval: '15m' } as never });
    strategyId = strategy.id;
    await strategies.savePerformance({ strategyId, computedAt: Date.now(), window: { from: null, to: null, bars: 0, symbols: 1 }, metrics: null, equity: { ts: [], value: [] }, error: 'no bars yet' });
    // The least typical symbol becomes the most traded one: one fill today.
    const quiet = (await db.query<{ id: number; symbol: string }>('SELECT id, symbol FROM instruments ORDER BY avg_volume, id LIMIT 1')).rows[0]!;
    traded = quiet.symbol;
    const now = new Date();
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO trading_orders (id, account_id, instrument_id, side, type, time_in_force, quantity, status, filled_quantity, created_at, updated_at)
         VALUES (1, $1, $2, 'buy', 'market', 'day', 1000000, 'filled', 1000000, $3, $3)`,
        [owner.account, quiet.id, now],
      );
      await tx.query('INSERT INTO order_keys (id, account_id, created_at) VALUES (1, $1, $2)', [owner.account, now]);
      await tx.query(`INSERT INTO trading_executions (id, order_id, account_id, instrument_id, side, quantity, price, ts) VALUES (1, 1, $1, $2, 'buy', 1000000, 10000, $3)`, [owner.account, quiet.id, now]);
    });
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  it('is not ready while warming, then serves the hot classes from L1 on the first request', async () => {
    const { platform } = t;
    expect((await platform.health.ready()).checks.cache).toEqual({ ok: false, reason: 'warming the cache' });
    const targets = await platform.cacheWarmer.targets();
    expect(targets.filter((x) => x.cls === 'historicalBars')[0]?.url).toBe(`/api/market-data/bars/${traded}`);

    // Over the loopback, so node's server saw them: app.inject's classes would leave node's response internals
    // polymorphic for the life of the process (src/cache/warmer.ts).
    const served: string[] = [];
    platform.app.server.prependListener('request', (req: IncomingMessage) => {
      if (req.headers[INTERNAL_TICKET_HEADER] !== undefined) served.push(req.url!);
    });
    await platform.listen();
    expect((await platform.health.ready()).checks.cache).toEqual({ ok: true });
    expect(served).toHaveLength(5);
    const report = platform.cacheWarmer.report!;
    expect(report).toMatchObject({ timedOut: false, requested: { instruments: 1, historicalBars: 3, strategyPerformance: 1 } });
    expect(report.warmed).toEqual(report.requested);

    const instruments = await platform.app.inject({ method: 'GET', url: '/api/instruments', headers: t.trader });
    expect(instruments.statusCode).toBe(200);
    expect(instruments.headers['cache-status']).toMatch(/^tachyon; hit; .*detail=l1/);
    const performance = await platform.app.inject({ method: 'GET', url: `/api/strategies/${strategyId}/performance`, headers: t.trader });
    expect(performance.statusCode).toBe(200);
    expect(performance.headers['cache-status']).toMatch(/^tachyon; hit; .*detail=l1/);
  });

  it('a made-up internal ticket is no credential', async () => {
    const res = await t.platform.app.inject({ method: 'GET', url: '/api/instruments', headers: { 'x-tachyon-internal-ticket': 'made-up' } });
    expect(res.statusCode).toBe(401);
  });
});
