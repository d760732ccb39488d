/**
 * The per-account order rate holds across instances (issue 13, item 7): two platforms on one
 * PostgreSQL database and one Redis share each account's token bucket in Redis, so an account that
 * used its second's allowance on one owner has none left when it moves to the other (a bucket per
 * instance would grant a fresh burst there). Time is a manual clock: no token refills until the test
 * moves it. The detailed health of such an instance lists every dependency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/database.ts';
import { openServer } from '../../src/db/pg.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { RedisOrderRate } from '../../src/trading/shared-order-rate.ts';
import { rateLimitRedis } from '../../src/http/rate-limit.ts';
import { ADMIN_TOKEN, DEMO_TOKEN } from '../support/platform.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const servers = (await pgAvailable()) && (await redisAvailable());
const RATE = 3;

describe.runIf(servers)('the per-account order rate across two instances', () => {
  const prefix = redisPrefix('order-rate');
  // A Monday mid-session: market orders are accepted.
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 15, 0, 30));
  let temp: TempDatabase;
  const dbs: Database[] = [];
  const platforms: Platform[] = [];
  let accountId = 0;

  const build = async () => {
    const config = testConfig({
      demoToken: DEMO_TOKEN,
      adminToken: ADMIN_TOKEN,
      databaseUrl: temp.url,
      redisUrl: REDIS_TEST_URL,
      http: { ...testConfig().http, rateLimitPerSecond: 0 },
      cache: { ...testConfig().cache, prefix: `${prefix}cache` },
      realtime: { ...testConfig().realtime, busChannel: `${prefix}bus` },
      analysis: { ...testConfig().analysis, queuePrefix: `${prefix}tasks` },
    });
    const db = await openServer({ url: temp.url, poolSize: 5 });
    dbs.push(db);
    const platform = await buildPlatform(config, { db, clock });
    await platform.listen();
    platforms.push(platform);
    return platform;
  };

  /** Places a market order, retrying a 503 (the account moving between the two, as a client would: it did nothing). */
  const order = async (p: Platform) => {
    for (let attempt = 0; ; attempt++) {
      const response = await p.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { authorization: `Bearer ${DEMO_TOKEN}` },
        payload: { symbol: p.marketData.instruments[0]!.symbol, side: 'buy', type: 'market', quantity: 1 },
      });
      const answer = { status: response.statusCode, code: (response.json() as { code?: string }).code };
      if (answer.status !== 503 || attempt === 20) return answer;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    temp = await createTempDatabase('order_rate');
    await build();
    await build();
    const [a] = platforms;
    accountId = ((await a!.app.inject({ url: '/api/portfolio', headers: { authorization: `Bearer ${DEMO_TOKEN}` } })).json() as { accountId: number }).accountId;
    const set = await a!.app.inject({ method: 'PUT', url: `/api/admin/accounts/${accountId}/risk`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { allowShort: false, limits: { maxOrdersPerSecond: RATE } } });
    expect(set.statusCode).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.stop()));
    await Promise.all(dbs.map((db) => db.close()));
    await temp?.drop();
    await deleteRedisKeys(prefix);
  });

  it('lists every dependency of a scaled instance in the detailed health', async () => {
    const [a, b] = platforms as [Platform, Platform];
    const response = await b.app.inject({ url: '/api/health/detailed', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { dependencies } = response.json() as { dependencies: Array<{ name: string; ok: boolean; details?: Record<string, unknown> }> };
    const byName = Object.fromEntries(dependencies.map((d) => [d.name, d]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['database', 'redis', 'task queue', 'feed', 'account leases']));
    expect(byName.redis!.details).toMatchObject({ busBridge: 'connected', rateLimits: 'shared across instances' });
    // Whichever instance leads the feed (the first, unless a stall on this shared machine let the other take over), both name it.
    const leading = [a, b].find((p) => p.marketData.status().role === 'leader');
    expect(byName.feed!.details).toMatchObject({ role: b.marketData.status().role, leader: { holder: leading!.instanceId, lapsed: false } });
    expect(byName['account leases']!.details).toMatchObject({ holder: b.instanceId, shards: 256 });
  });

  it('refuses the order over the rate wherever it is sent, and on the new owner after a handover', async () => {
    const [a, b] = platforms as [Platform, Platform];
    // Orders through both instances (one of them forwards to the owner): the second's allowance, then no more.
    const answers = [];
    for (let i = 0; i < RATE; i++) answers.push(await order(i % 2 === 0 ? a : b));
    for (const answer of answers) expect([201, 422]).toContain(answer.status);
    for (const answer of answers) expect(answer.code).not.toBe('order_rate_exceeded');
    expect(await order(b)).toEqual({ status: 422, code: 'order_rate_exceeded' });

    // The owner stops and hands the account over; the other instance takes it on the next order.
    const owner = a.ownership.ownsNow(accountId) ? a : b;
    const survivor = owner === a ? b : a;
    await owner.stop();
    platforms.splice(platforms.indexOf(owner), 1);
    expect(await order(survivor)).toEqual({ status: 422, code: 'order_rate_exceeded' });
    expect(survivor.ownership.ownsNow(accountId)).toBe(true);

    // The shared bucket refills with time as the local one does.
    clock.advance(1_000);
    expect((await order(survivor)).code).not.toBe('order_rate_exceeded');
  });

  it('gives no answer while Redis cannot (the engine then uses the account’s own bucket)', async () => {
    const redis = await rateLimitRedis('redis://127.0.0.1:1');
    try {
      expect(await new RedisOrderRate(redis, prefix).take(accountId, RATE, clock.now())).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});
