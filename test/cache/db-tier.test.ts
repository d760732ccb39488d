import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FeatureFlags } from '../../src/config/flags.ts';
import { ComputedResults } from '../../src/cache/computed-results.ts';
import { tags } from '../../src/cache/invalidation.ts';
import type { TieredCache } from '../../src/cache/tiered-cache.ts';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { engines } from '../support/engines.ts';
import { buildCache, counter } from './support.ts';

describe.each(await engines())('database tier of computed results ($name)', (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let computed: ComputedResults;
  const caches: TieredCache[] = [];

  beforeAll(async () => {
    ({ db, cleanup } = await engine.open());
    await migrate(db);
    computed = new ComputedResults(db);
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    await cleanup?.();
  });

  /** A fresh instance (empty L1, no Redis) over the same database, as after a restart. */
  async function instance(dbTier = true): Promise<TieredCache> {
    const registry = new FeatureFlags();
    const cache = await buildCache({ registry, computed, prefix: `db-tier-${caches.length}` });
    registry.set('cache.db-tier', dbTier);
    caches.push(cache);
    return cache;
  }

  it('a result computed by one instance is served from the database by a restarted one, without recomputing', async () => {
    const { state, load } = counter(() => ({ sharpe: 1.5 }));
    const first = await instance();
    expect(await first.get('strategyPerformance', 'perf:7', load, [tags.strategy(7)])).toMatchObject({ status: 'miss', value: { sharpe: 1.5 } });
    const restarted = await instance();
    const served = await restarted.get('strategyPerformance', 'perf:7', load, [tags.strategy(7)]);
    expect(served).toMatchObject({ status: 'hit', tier: 'db', value: { sharpe: 1.5 } });
    expect(state.calls).toBe(1);
    expect(restarted.stats.byClass.strategyPerformance.hitsDb).toBe(1);
    // Then it is in that instance's L1.
    expect(await restarted.get('strategyPerformance', 'perf:7', load)).toMatchObject({ status: 'hit', tier: 'l1' });
  });

  it('a tag invalidation deletes the rows, so no instance gets the old result back', async () => {
    let sharpe = 1;
    const { state, load } = counter(() => ({ sharpe }));
    const a = await instance();
    await a.get('strategyPerformance', 'perf:8', load, [tags.strategy(8)]);
    sharpe = 2;
    await a.invalidateTag(tags.strategy(8), ['strategyPerformance']);
    const b = await instance();
    expect(await b.get('strategyPerformance', 'perf:8', load, [tags.strategy(8)])).toMatchObject({ status: 'miss', value: { sharpe: 2 } });
    expect(state.calls).toBe(2);
  });

  it('expired rows are neither served nor kept (controllable clock)', async () => {
    const now = Date.now();
    await computed.write('historicalBars', 'old', { bars: [] }, [], now - 10_000, now - 1);
    await computed.write('historicalBars', 'fresh', { bars: [1] }, [], now, now + 60_000);
    expect(await computed.read('historicalBars', 'old', now)).toBeUndefined();
    expect(await computed.read('historicalBars', 'fresh', now)).toMatchObject({ value: { bars: [1] }, computedAt: now, expiresAt: now + 60_000 });
    expect(await computed.purgeExpired(now)).toBeGreaterThanOrEqual(1);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(now + 61_000);
      const cache = await instance();
      const { state, load } = counter(() => ({ bars: [2] }));
      expect(await cache.get('historicalBars', 'fresh', load)).toMatchObject({ status: 'miss', value: { bars: [2] } });
      expect(state.calls).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('only persisting classes use it, and only with the flag on', async () => {
    const off = await instance(false);
    await off.get('strategyPerformance', 'flag-off', async () => 1);
    await off.get('portfolio', 'acct:1:x', async () => 1);
    const { rows } = await db.query<{ key: string }>("SELECT key FROM cache_computed_results WHERE key IN ('flag-off', 'acct:1:x')");
    expect(rows).toEqual([]);
    const on = await instance();
    await on.get('portfolio', 'acct:1:x', async () => 1);
    expect((await db.query("SELECT 1 FROM cache_computed_results WHERE key = 'acct:1:x'")).rows).toEqual([]);
  });
});
