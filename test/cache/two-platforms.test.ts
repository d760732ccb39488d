import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/database.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { tags } from '../../src/cache/invalidation.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN } from '../support/platform.ts';
import { redisPrefix } from '../support/servers.ts';
import { OwnRedis, redisServerInstalled } from './redis-server.ts';

describe.runIf(redisServerInstalled())('two platforms sharing one Redis', () => {
  let redis: OwnRedis;
  let db: Database;
  let a: Platform;
  let b: Platform;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    ({ db } = await pglite.open());
    const base = testConfig();
    const config = testConfig({ demoToken: DEMO_TOKEN, redisUrl: redis.url, cache: { ...base.cache, prefix: redisPrefix('cache2p'), l2TimeoutMs: 1_000 }, realtime: { ...base.realtime, busChannel: redisPrefix('bus') } });
    a = await buildPlatform(config, { db });
    b = await buildPlatform(config, { db });
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.close();
    await redis?.kill();
  });

  it('a strategy change on one instance: its own next read is fresh at once, the other’s as soon as Redis tells it; no stale read after that', async () => {
    const stored = { sharpe: 1 };
    const performance = (p: Platform, id = 1) => p.cache.get('strategyPerformance', `strategy:${id}:performance`, async () => ({ sharpe: stored.sharpe }), [tags.strategy(id)]);
    expect((await performance(a)).value.sharpe).toBe(1);
    expect(await performance(b)).toMatchObject({ value: { sharpe: 1 }, tier: 'l2' });
    expect((await performance(b)).tier).toBe('l1');

    stored.sharpe = 2;
    a.bus.publish('strategy.1', { userId: 1, performance: null });
    expect((await performance(a)).value.sharpe).toBe(2);
    await expect.poll(async () => (await performance(b)).value.sharpe).toBe(2);
    for (let i = 0; i < 20; i++) expect((await performance(b)).value.sharpe).toBe(2);

    // Other strategies are untouched.
    const other = await performance(b, 2);
    a.bus.publish('strategy.1', { userId: 1, performance: null });
    expect((await b.cache.get('strategyPerformance', 'strategy:2:performance', async () => 'reloaded', [tags.strategy(2)])).createdAt).toBe(other.createdAt);
  });

  it('a recomputed performance is written through: the computing instance and the other read the new answer from the cache, never the old one after it', async () => {
    const key = 'acct:1:strategy:7:performance';
    const read = (p: Platform) => p.cache.get<{ body: string }>('strategyPerformance', key, async () => ({ body: 'loaded' }), [tags.strategy(7)]);
    const record = (computedAt: number) => ({ strategyId: 7, computedAt, window: { from: 1, to: 2, bars: 2, symbols: 1 }, metrics: null, equity: { ts: [], value: [] }, error: 'test' });
    a.bus.publish('strategy.7', { userId: 1, performance: record(1_000) });
    await expect.poll(async () => (await read(a)).value.body).toContain('"computedAt":1000');
    expect(await read(b)).toMatchObject({ tier: 'l2' });
    expect((await read(b)).tier).toBe('l1');

    a.bus.publish('strategy.7', { userId: 1, performance: record(2_000) });
    await expect.poll(async () => (await read(a)).value.body).toContain('"computedAt":2000');
    await expect.poll(async () => (await read(b)).value.body).toContain('"computedAt":2000');
    for (let i = 0; i < 20; i++) expect((await read(b)).value.body).toContain('"computedAt":2000');
    // Never loaded: the writes filled every tier.
    expect((await read(a)).value.body).not.toBe('loaded');
  });

  it('the HTTP layer of one instance serves what the other loaded (L2) and reports it', async () => {
    const headers = { authorization: `Bearer ${DEMO_TOKEN}` };
    // A fresh key per attempt: on a loaded machine one L2 call may time out, which the cache
    // rightly treats as a miss; sharing must still show up.
    let limit = 10;
    await expect
      .poll(async () => {
        const url = `/api/instruments?limit=${++limit}`;
        const first = await a.app.inject({ url, headers });
        expect(first.headers['cache-status']).toMatch(/fwd=miss/);
        return (await b.app.inject({ url, headers })).headers['cache-status'];
      })
      .toMatch(/hit; ttl=\d+; detail=l2/);
  });
});
