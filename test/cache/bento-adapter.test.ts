/**
 * The tiered cache reads two things BentoCache keeps privately (src/cache/bento-adapter.ts): its
 * entry layout and its tag marks. These tests pin them to the installed version and check, on real
 * Redis, that no read path (L1 fast path, L2 fast path, BentoCache's path on a fresh instance)
 * serves an entry after its tag or key was invalidated.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BentoCache, bentostore } from 'bentocache';
import { expireLogically, verifyBentoLayout } from '../../src/cache/bento-adapter.ts';
import { L1Store } from '../../src/cache/l1-store.ts';
import { tags } from '../../src/cache/invalidation.ts';
import type { TieredCache } from '../../src/cache/tiered-cache.ts';
import { REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';
import { buildCache } from './support.ts';

describe('BentoCache adapter', () => {
  it('is pinned exactly to the installed BentoCache, whose layout it checks', async () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const installed = (JSON.parse(readFileSync('node_modules/bentocache/package.json', 'utf8')) as { version: string }).version;
    expect(manifest.dependencies.bentocache).toBe(installed);
    expect(await verifyBentoLayout()).toBe(true);
  });

  it('expires another instance’s written entry in L1 as BentoCache’s own expire does: kept, no longer fresh', async () => {
    const stores = [new L1Store(1_048_576, 100, () => undefined), new L1Store(1_048_576, 100, () => undefined)];
    const caches = stores.map((l1) => new BentoCache({ default: 'probe', stores: { probe: bentostore().useL1Layer(l1.driver()) }, prefix: 'probe' }));
    try {
      for (const bento of caches) await bento.set({ key: 'entry', value: { v: 1 }, ttl: 60_000, grace: 120_000 });
      // Each entry's own creation time: the two sets may fall in different milliseconds.
      const created = stores.map((l1) => l1.lru.get('probe:entry')!.createdAt);
      const before = Date.now();
      await caches[0]!.expire({ key: 'entry' });
      expireLogically(stores[1]!.lru, 'probe:entry', Date.now());
      const [theirs, ours] = stores.map((l1) => l1.lru.get('probe:entry'));
      expect(theirs).toMatchObject({ value: { v: 1 }, createdAt: created[0] });
      expect(ours).toMatchObject({ value: { v: 1 }, createdAt: created[1] });
      for (const entry of [theirs!, ours!]) expect(entry.logicalExpiration).toBeLessThanOrEqual(before);
      expect(Math.abs(ours!.logicalExpiration! - theirs!.logicalExpiration!)).toBeLessThan(1_000);
      // Both still answer as grace copies.
      for (const bento of caches) expect(await bento.get({ key: 'entry', grace: '1h' })).toEqual({ v: 1 });
    } finally {
      await Promise.all(caches.map((bento) => bento.disconnectAll()));
    }
  });
});

describe.runIf(await redisAvailable())('invalidated entries are never served (real Redis, two instances)', () => {
  const prefix = redisPrefix('bento-adapter');
  const options = { prefix, redis: { url: REDIS_TEST_URL, timeoutMs: 1_000, breakMs: 300 } };
  let a: TieredCache;
  let b: TieredCache;

  beforeAll(async () => {
    [a, b] = await Promise.all([buildCache(options), buildCache(options)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const redis = new Redis(REDIS_TEST_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
  });

  it('after a tag invalidation: not from L1, not from L2, not on an instance that never saw the tag', async () => {
    const db = { cash: 100 };
    const load = async () => db.cash;
    const read = (cache: TieredCache) => cache.get('portfolio', 'acct:9', load, [tags.account(9)]);
    expect((await read(a)).value).toBe(100);
    expect(await read(b)).toMatchObject({ value: 100, tier: 'l2' });
    expect(await read(b)).toMatchObject({ value: 100, tier: 'l1' });

    db.cash = 60;
    await a.invalidateTag(tags.account(9), ['portfolio']);
    // b's L1 copy: dropped by the bus, or refused by its tag mark, never served.
    await expect.poll(async () => (await read(b)).value).toBe(60);
    expect((await read(a)).value).toBe(60);

    // A second invalidation: an instance that has never read the tag (no mark in its L1) and b
    // with an empty L1 both see the new value, whatever tier they read it from.
    const fresh = await buildCache(options);
    try {
      db.cash = 30;
      await a.invalidateTag(tags.account(9), ['portfolio']);
      expect((await read(a)).value).toBe(30);
      b.l1.lru.clear();
      expect((await read(b)).value).toBe(30);
      expect((await read(fresh)).value).toBe(30);
    } finally {
      await fresh.close();
    }
  });

  it('an entry written to L2 before a tag invalidation is refused by the L2 fast path', async () => {
    const load = async () => 'old';
    const key = 'acct:11';
    const tagList = [tags.account(11)];
    await a.get('portfolio', key, load, tagList);
    const redis = new Redis(REDIS_TEST_URL);
    try {
      const fullKey = `${prefix.replace(/:+$/, '')}:portfolio:${key}`;
      const frame = await redis.getBuffer(fullKey);
      expect(frame).not.toBeNull();
      await a.invalidateTag(tags.account(11), ['portfolio']);
      // Put the pre-invalidation copy back, as a slow writer racing the invalidation would.
      await redis.set(fullKey, frame!, 'PX', 60_000);
      b.l1.lru.clear();
      const newer = async () => 'new';
      // b learns the tag mark through BentoCache's path on its first read, then takes the fast path.
      expect((await b.get('portfolio', key, newer, tagList)).value).toBe('new');
      b.l1.lru.delete(fullKey);
      await redis.set(fullKey, frame!, 'PX', 60_000);
      expect((await b.get('portfolio', key, newer, tagList)).value).toBe('new');
    } finally {
      redis.disconnect();
    }
  });

  it('after a key invalidation on one instance, the other serves the new value', async () => {
    let version = 1;
    const load = async () => version;
    expect((await a.get('instruments', 'XYZ', load)).value).toBe(1);
    expect((await b.get('instruments', 'XYZ', load)).value).toBe(1);
    version = 2;
    await a.invalidateKey('instruments', 'XYZ');
    await expect.poll(async () => (await b.get('instruments', 'XYZ', load)).value).toBe(2);
  });

  it('a write-through on one instance replaces the other’s L1 copy', async () => {
    await a.set('portfolio', 'acct:12', 'first');
    expect((await b.get('portfolio', 'acct:12', async () => 'db')).value).toBe('first');
    await a.set('portfolio', 'acct:12', 'second');
    await expect.poll(async () => (await b.get('portfolio', 'acct:12', async () => 'db')).value).toBe('second');
  });
});
