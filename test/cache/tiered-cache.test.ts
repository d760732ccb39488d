import { afterEach, describe, expect, it, vi } from 'vitest';
import { FeatureFlags } from '../../src/config/flags.ts';
import { MessageBus } from '../../src/kernel/bus.ts';
import { tags, wireInvalidation } from '../../src/cache/invalidation.ts';
import { wirePerformanceWriteThrough } from '../../src/analysis/http/performance-cache.ts';
import { NotFoundError } from '../../src/kernel/errors.ts';
import pino from 'pino';
import { buildCache, counter, policies } from './support.ts';
import { publishPartial } from '../support/bus-events.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('tiered cache (L1)', () => {
  it('cache-aside: loads once, then serves L1 hits with their load time', async () => {
    const cache = await buildCache();
    const { state, load } = counter(() => ({ name: 'AAPL' }));
    const first = await cache.get('instruments', 'AAPL', load);
    const second = await cache.get('instruments', 'AAPL', load);
    expect(first).toMatchObject({ status: 'miss', value: { name: 'AAPL' } });
    expect(second).toMatchObject({ status: 'hit', tier: 'l1', value: { name: 'AAPL' }, createdAt: first.createdAt });
    expect(state.calls).toBe(1);
    expect(cache.stats.byClass.instruments).toMatchObject({ misses: 1, hitsL1: 1 });
    await cache.close();
  });

  it('expires entries after their class TTL (controllable clock)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const cache = await buildCache({ policies: policies({ portfolio: { strategy: 'write-through', ttlMs: 10_000, graceMs: 0, visibility: 'private', persist: false, eviction: 'lru' } }) });
    let version = 1;
    const { state, load } = counter(() => version);
    expect((await cache.get('portfolio', 'acct:1', load)).value).toBe(1);
    version = 2;
    vi.setSystemTime(1_009_999);
    expect((await cache.get('portfolio', 'acct:1', load)).value).toBe(1);
    vi.setSystemTime(1_010_000);
    expect(await cache.get('portfolio', 'acct:1', load)).toMatchObject({ value: 2, status: 'miss' });
    expect(state.calls).toBe(2);
    await cache.close();
  });

  it('grace: serves a stale copy at once and refreshes it in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(2_000_000);
    const cache = await buildCache({ policies: policies({ strategyPerformance: { strategy: 'write-behind', ttlMs: 1_000, graceMs: 60_000, visibility: 'private', persist: false, eviction: 'lru' } }) });
    let version = 1;
    const { state, load } = counter(() => version);
    await cache.get('strategyPerformance', 's1', load);
    version = 2;
    vi.setSystemTime(2_005_000);
    expect(await cache.get('strategyPerformance', 's1', load)).toMatchObject({ value: 1, status: 'stale', tier: 'l1' });
    await vi.waitFor(() => expect(state.calls).toBe(2));
    await vi.waitFor(async () => expect((await cache.get('strategyPerformance', 's1', load)).value).toBe(2));
    await cache.close();
  });

  it('refresh-ahead: a hot key read near its expiry is reloaded before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(3_000_000);
    const cache = await buildCache({ policies: policies({ marketSnapshot: { strategy: 'refresh-ahead', ttlMs: 10_000, graceMs: 0, visibility: 'public', persist: false, eviction: 'lru' } }) });
    let version = 1;
    const { state, load } = counter(() => version);
    await cache.get('marketSnapshot', 'all', load);
    version = 2;
    vi.setSystemTime(3_005_000); // half the TTL left: no refresh
    expect((await cache.get('marketSnapshot', 'all', load)).value).toBe(1);
    expect(state.calls).toBe(1);
    vi.setSystemTime(3_009_000); // 10% left: served from L1 and refreshed behind it
    expect(await cache.get('marketSnapshot', 'all', load)).toMatchObject({ value: 1, status: 'hit' });
    await vi.waitFor(() => expect(cache.peek('marketSnapshot', 'all')?.value).toBe(2));
    expect(cache.stats.byClass.marketSnapshot.refreshAhead).toBe(1);
    await cache.close();
  });

  it('write-through puts the writer’s value in the cache; write-behind persists it later, coalesced', async () => {
    const cache = await buildCache();
    const { state, load } = counter(() => 'from-db');
    await cache.set('portfolio', 'acct:7', 'written');
    expect((await cache.get('portfolio', 'acct:7', load)).value).toBe('written');
    const persisted: unknown[] = [];
    await cache.writeBehind('strategyPerformance', 's9', { sharpe: 1 }, async (v) => void persisted.push(v));
    await cache.writeBehind('strategyPerformance', 's9', { sharpe: 2 }, async (v) => void persisted.push(v));
    expect((await cache.get('strategyPerformance', 's9', load)).value).toEqual({ sharpe: 2 });
    expect(persisted).toEqual([]);
    await cache.flushWriteBehind();
    expect(persisted).toEqual([{ sharpe: 2 }]);
    expect(state.calls).toBe(0);
    await cache.close();
  });

  it('stampede: concurrent misses for one key run the loader once', async () => {
    const cache = await buildCache();
    const { state, load } = counter(() => 42, 30);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.get('historicalBars', 'AAPL|1m', load)));
    expect(state.calls).toBe(1);
    expect(results.every((r) => r.value === 42)).toBe(true);
    expect(results.filter((r) => r.status === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'collapsed')).toHaveLength(49);
    await cache.close();
  });

  it('invalidates by key, by tag (only that tag), by class', async () => {
    const cache = await buildCache();
    let version = 1;
    const { state, load } = counter(() => version);
    await cache.get('portfolio', 'acct:1:summary', load, [tags.account(1)]);
    await cache.get('portfolio', 'acct:2:summary', load, [tags.account(2)]);
    await cache.get('instruments', 'list', load);
    version = 2;
    await cache.invalidateTag(tags.account(1), ['portfolio']);
    expect((await cache.get('portfolio', 'acct:1:summary', load, [tags.account(1)])).value).toBe(2);
    expect((await cache.get('portfolio', 'acct:2:summary', load, [tags.account(2)])).value).toBe(1);
    await cache.invalidateKey('portfolio', 'acct:2:summary');
    expect((await cache.get('portfolio', 'acct:2:summary', load, [tags.account(2)])).value).toBe(2);
    await cache.invalidateClass('instruments');
    expect((await cache.get('instruments', 'list', load)).value).toBe(2);
    expect(state.calls).toBeGreaterThanOrEqual(6);
    await cache.close();
  });

  it('a strategy change invalidates that strategy’s performance at once, and a load that raced the change is never cached', async () => {
    const cache = await buildCache();
    const bus = new MessageBus();
    wireInvalidation(bus, cache, pino({ level: 'silent' }));
    wirePerformanceWriteThrough(bus, cache, pino({ level: 'silent' }));
    const db = { sharpe: 100 };
    let release!: () => void;
    let readDone!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const read = new Promise<void>((r) => (readDone = r));
    const slow = async () => {
      const sharpe = db.sharpe; // reads before the change commits…
      readDone();
      await gate; // …and finishes after it
      return sharpe;
    };
    const key = 'strategy:1:performance';
    const racing = cache.get('strategyPerformance', key, slow, [tags.strategy(1)]);
    await read;
    db.sharpe = 50;
    bus.publish('strategy.1', { userId: 1, performance: null });
    release();
    expect((await racing).value).toBe(100); // the overlapping request may see the old state…
    const after = await cache.get('strategyPerformance', key, async () => db.sharpe, [tags.strategy(1)]);
    expect(after).toMatchObject({ value: 50, status: 'miss' }); // …no later one does
    expect(cache.stats.byClass.strategyPerformance.discarded).toBe(1);

    db.sharpe = 25;
    bus.publish('strategy.1', { userId: 1, performance: null });
    await expect.poll(async () => (await cache.get('strategyPerformance', key, async () => db.sharpe, [tags.strategy(1)])).value).toBe(25);
    await cache.close();
  });

  it('invalidates nothing for a copy of an event from another instance (its origin did), nor for fills (no route reads the portfolio class)', async () => {
    const cache = await buildCache();
    const bus = new MessageBus();
    wireInvalidation(bus, cache, pino({ level: 'silent' }));
    wirePerformanceWriteThrough(bus, cache, pino({ level: 'silent' }));
    const key = 'strategy:1:performance';
    await cache.get('strategyPerformance', key, async () => 1, [tags.strategy(1)]);
    await cache.get('portfolio', 'acct:1', async () => 1, [tags.account(1)]);
    bus.deliver('strategy.1', { userId: 1, performance: null });
    publishPartial(bus, 'fill.1', { accountId: 1 });
    publishPartial(bus, 'portfolio.1', {});
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get('strategyPerformance', key, async () => 2, [tags.strategy(1)])).value).toBe(1);
    expect(cache.stats.byClass.strategyPerformance.invalidations).toBe(0);
    expect(cache.stats.byClass.portfolio.invalidations).toBe(0);
    bus.publish('strategy.1', { userId: 1, performance: null });
    await expect.poll(() => cache.stats.byClass.strategyPerformance.invalidations).toBe(1);
    await cache.close();
  });

  it('loader errors reach the caller unchanged and nothing is cached', async () => {
    const cache = await buildCache();
    await expect(cache.get('instruments', 'nope', async () => Promise.reject(new NotFoundError('unknown symbol')))).rejects.toBeInstanceOf(NotFoundError);
    expect((await cache.get('instruments', 'nope', async () => 'ok')).status).toBe('miss');
    await cache.close();
  });

  it('L1 is bounded in bytes and evicts least recently used entries', async () => {
    const cache = await buildCache({ l1MaxBytes: 1_048_576 });
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 30; i++) await cache.get('predictions', `k${i}`, async () => big);
    expect(cache.l1.bytes).toBeLessThanOrEqual(1_048_576);
    expect(cache.l1.evictions).toBeGreaterThan(0);
    expect(cache.l1.lru.has('test:predictions:k0')).toBe(false);
    expect(cache.l1.lru.has('test:predictions:k29')).toBe(true);
    await cache.close();
  });

  it('an LFU class (historicalBars) keeps its often-read entries when a sweep of one-off reads passes through a full L1', async () => {
    const cache = await buildCache({ l1MaxBytes: 1_048_576 });
    const big = 'x'.repeat(100_000);
    for (let round = 0; round < 3; round++) for (let i = 0; i < 9; i++) await cache.get('historicalBars', `hot${i}`, async () => big);
    for (let i = 0; i < 30; i++) expect((await cache.get('historicalBars', `sweep${i}`, async () => big)).value).toBe(big);
    for (let i = 0; i < 9; i++) expect(cache.peek('historicalBars', `hot${i}`)).toMatchObject({ status: 'hit', tier: 'l1' });
    expect(cache.l1.rejections).toBeGreaterThan(0);
    await cache.close();
  });

  it('cache.enabled off bypasses the cache entirely', async () => {
    const cache = await buildCache({ registry: new FeatureFlags({ 'cache.enabled': false }) });
    const { state, load } = counter(() => 1);
    await cache.get('instruments', 'a', load);
    expect(await cache.get('instruments', 'a', load)).toMatchObject({ status: 'bypass' });
    expect(state.calls).toBe(2);
    await cache.close();
  });
});
