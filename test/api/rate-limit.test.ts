import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { deleteRedisKeys, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';

describe('rate limit per user', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pglite, { http: { ...testConfig().http, rateLimitPerSecond: 5 } });
  });
  afterAll(() => t?.close());

  it('answers 429 problem+json past the limit, per user, and never throttles health', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await t.platform.app.inject({ url: '/api/market-data/quotes/AAPL', headers: t.trader })).statusCode);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await t.platform.app.inject({ url: '/api/market-data/quotes/AAPL', headers: t.trader });
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    // Another user has its own budget.
    expect((await t.platform.app.inject({ url: '/api/market-data/quotes/AAPL', headers: t.admin })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) expect((await t.platform.app.inject({ url: '/api/health' })).statusCode).toBe(200);
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('rate limit across instances (Redis)', () => {
  let a: TestPlatform;
  let b: TestPlatform;
  const prefix = redisPrefix('rate');
  beforeAll(async () => {
    const overrides = { redisUrl: REDIS_TEST_URL, http: { ...testConfig().http, rateLimitPerSecond: 5 }, cache: { ...testConfig().cache, prefix: prefix + 'cache' } };
    [a, b] = await Promise.all([startTestPlatform(pglite, overrides), startTestPlatform(pglite, overrides)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await deleteRedisKeys(prefix);
  });

  it('counts one user requests on every instance against one budget', async () => {
    const url = '/api/market-data/quotes/AAPL';
    // Three on A: the third is past half the budget of 5, so it carries the limit headers.
    const onA = [];
    for (let i = 0; i < 3; i++) onA.push(await a.platform.app.inject({ url, headers: a.trader }));
    const onB = await b.platform.app.inject({ url, headers: b.trader });
    expect([...onA, onB].map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(onA[0]!.headers['x-ratelimit-remaining']).toBeUndefined();
    // B saw A's requests: the counter is shared, not per instance.
    expect(Number(onB.headers['x-ratelimit-remaining'])).toBe(Number(onA[2]!.headers['x-ratelimit-remaining']) - 1);
  });

  it('leaves the fast lane to the route check, which counts in Redis: a quote over a socket is never answered uncounted', async () => {
    expect(a.platform.app.requestRateLimit).toBe('shared');
    const base = await a.platform.listen();
    const before = a.platform.fastLane.stats();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/api/market-data/quotes/AAPL`, { headers: a.trader })).status);
    const after = a.platform.fastLane.stats();
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(after.answered - before.answered).toBe(0);
    expect(after.passed - before.passed).toBe(4);
  });
});
