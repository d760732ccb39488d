import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tags } from '../../src/cache/invalidation.ts';
import { RedisLink } from '../../src/cache/redis-link.ts';
import type { TieredCache } from '../../src/cache/tiered-cache.ts';
import { redisPrefix } from '../support/servers.ts';
import { OwnRedis, redisServerInstalled } from './redis-server.ts';
import { buildCache, counter } from './support.ts';

describe.runIf(redisServerInstalled())('tiered cache on Redis (two instances)', () => {
  let redis: OwnRedis;
  let a: TieredCache;
  let b: TieredCache;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    const prefix = redisPrefix('cache');
    const options = { prefix, redis: { url: redis.url, timeoutMs: 1_000, breakMs: 300 } };
    [a, b] = await Promise.all([buildCache(options), buildCache(options)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.kill();
  });

  it('one instance’s load is the other’s L2 hit (MessagePack, deflated when large)', async () => {
    const big = { rows: Array.from({ length: 2_000 }, (_, i) => ({ ts: i, close: 100 + i })) };
    const { state, load } = counter(() => big);
    expect((await a.get('historicalBars', 'AAPL|1m|closed', load)).status).toBe('miss');
    const fromB = await b.get('historicalBars', 'AAPL|1m|closed', load);
    expect(fromB).toMatchObject({ status: 'hit', tier: 'l2' });
    expect(fromB.value).toEqual(big);
    expect(state.calls).toBe(1);
  });

  it('an invalidation on one instance reaches the other’s L1 through Redis', async () => {
    const db = { cash: 100 };
    const load = async () => db.cash;
    expect((await a.get('portfolio', 'acct:1', load, [tags.account(1)])).value).toBe(100);
    expect((await b.get('portfolio', 'acct:1', load, [tags.account(1)])).value).toBe(100);
    expect((await b.get('portfolio', 'acct:1', load, [tags.account(1)])).tier).toBe('l1');
    db.cash = 40;
    await a.invalidateTag(tags.account(1), ['portfolio']);
    expect((await a.get('portfolio', 'acct:1', load, [tags.account(1)])).value).toBe(40);
    await expect.poll(async () => (await b.get('portfolio', 'acct:1', load, [tags.account(1)])).value).toBe(40);

    await b.invalidateKey('portfolio', 'acct:1');
    db.cash = 10;
    await expect.poll(async () => (await a.get('portfolio', 'acct:1', load, [tags.account(1)])).value).toBe(10);
  });

  it('concurrent misses on two instances run the loader once (Redis lock)', async () => {
    const { state, load } = counter(() => 'computed', 100);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => a.get('strategyPerformance', 'acct:1:s1', load)),
      ...Array.from({ length: 10 }, () => b.get('strategyPerformance', 'acct:1:s1', load)),
    ]);
    expect(results.every((r) => r.value === 'computed')).toBe(true);
    expect(state.calls).toBe(1);
  });

  it('concurrent write-throughs share one promise and one notice; the other instance drops its copies and reads the new values from L2', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `S${i}|1m|closed`);
    const old = async () => 'old';
    for (const k of keys) await b.get('historicalBars', k, old);
    expect((await b.get('historicalBars', keys[0]!, old)).tier).toBe('l1');
    const writes = keys.map((k, i) => a.set('historicalBars', k, `new ${i}`));
    expect(new Set(writes).size).toBe(1);
    await Promise.all(writes);
    const { state, load } = counter(() => 'loaded');
    await expect.poll(async () => (await Promise.all(keys.map((k) => b.get('historicalBars', k, load)))).map((r) => r.value)).toEqual(keys.map((_, i) => `new ${i}`));
    expect(state.calls).toBe(0);
  });

  it('writes still land after Redis lost its scripts (the SETs of a turn are one script call)', async () => {
    await a.set('instruments', 'before-flush', 1);
    const admin = new RedisLink({ url: redis.url, timeoutMs: 1_000, breakMs: 300 });
    await admin.connect();
    await admin.run((r) => r.script('FLUSH'));
    admin.close();
    await Promise.all([a.set('instruments', 'after-flush-1', 2), a.set('instruments', 'after-flush-2', 3)]);
    const { state, load } = counter(() => 0);
    expect((await b.get('instruments', 'after-flush-2', load)).value).toBe(3);
    expect(state.calls).toBe(0);
  });

  it('Redis killed mid-test: reads keep answering from L1 and the loader, writes and invalidations do not throw', async () => {
    const { load } = counter(() => 'v1');
    await a.get('instruments', 'list', load);
    await redis.kill();
    const { state: fresh, load: loadFresh } = counter(() => 'v2');
    for (let i = 0; i < 20; i++) {
      expect((await a.get('instruments', 'list', load)).value).toBe('v1'); // L1
      expect((await a.get('instruments', `other-${i}`, loadFresh)).value).toBe('v2'); // L2 down: the loader
    }
    expect(fresh.calls).toBe(20);
    await a.set('portfolio', 'acct:9', 1);
    await a.invalidateTag(tags.account(9), ['portfolio']);
    await expect.poll(() => a.redisHealthy).toBe(false);

    await redis.restart();
    await expect.poll(async () => {
      await a.get('instruments', `probe-${Date.now()}`, loadFresh); // lets the half-open circuit probe Redis
      return a.redisHealthy;
    }).toBe(true);
  });
});
