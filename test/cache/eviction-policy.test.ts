/**
 * The L1's per-class eviction (LRU, or TinyLFU admission in front of it) is chosen by numbers: the
 * recorded trading-day trace (test/support/cache-trace.ts) replayed through the real L1 store at the
 * default L1 budget. Deterministic: no clock, no randomness, so the figures are the same every run.
 */
import { describe, expect, it } from 'vitest';
import { L1Store } from '../../src/cache/l1-store.ts';
import { DATA_CLASSES, DEFAULT_POLICIES, type DataClass } from '../../src/cache/policies.ts';
import { L1_DEFAULT_BYTES, readTrace, replay } from '../support/cache-trace.ts';

const trace = readTrace();
const chosen = DATA_CLASSES.filter((cls) => DEFAULT_POLICIES[cls].eviction === 'lfu');
const inTrace = new Set(trace.map((a) => a.cls));

describe('LFU against LRU on a recorded access trace', () => {
  const defaults = replay(trace, L1_DEFAULT_BYTES, chosen);
  const allLru = replay(trace, L1_DEFAULT_BYTES, []);

  it('the configured choice hits more often than LRU for every class', () => {
    expect(chosen.length).toBeGreaterThan(0);
    expect(defaults.hitRate).toBeGreaterThan(allLru.hitRate);
    for (const cls of chosen) expect(defaults.byClass[cls]!.hitRate).toBeGreaterThan(allLru.byClass[cls]!.hitRate);
  });

  // The rule: a class is LFU when that raises both its own hit rate and the L1's overall one (LFU on
  // strategyPerformance raises the overall rate by 0.1 point but costs its own readers 2 points).
  it.each(DATA_CLASSES.filter((cls) => inTrace.has(cls)))('flipping %s to the other policy does not improve both its hit rate and the overall one', (cls: DataClass) => {
    const flipped = replay(trace, L1_DEFAULT_BYTES, chosen.includes(cls) ? chosen.filter((c) => c !== cls) : [...chosen, cls]);
    const better = { own: flipped.byClass[cls]!.hitRate > defaults.byClass[cls]!.hitRate, overall: flipped.hitRate > defaults.hitRate };
    expect(better).not.toEqual({ own: true, overall: true });
  });

  it('memory stays within the same budget under both policies', () => {
    for (const result of [defaults, allLru]) {
      const bytes = Object.values(result.byClass).reduce((sum, c) => sum + c.bytes, 0);
      expect(bytes).toBeLessThanOrEqual(L1_DEFAULT_BYTES);
      expect(bytes).toBeGreaterThan(L1_DEFAULT_BYTES * 0.9);
    }
  });
});

describe('TinyLFU admission in the L1 store', () => {
  const entry = (n: number) => ({ value: { body: 'x'.repeat(n) }, logicalExpiration: undefined, createdAt: 0 });

  it('a full L1 keeps a key read once out of an LFU class, and admits it once it is read more than the LRU victim', () => {
    const store = new L1Store(10_000, 1_000, () => undefined, (key) => key.startsWith('lfu:'), 100);
    for (let i = 0; i < 8; i++) {
      store.record(`lru:${i}`);
      store.set(`lru:${i}`, entry(1_000));
    }
    store.record('lfu:once');
    store.set('lfu:once', entry(1_000));
    expect(store.lru.has('lfu:once')).toBe(true); // not full yet: admitted
    store.record('lfu:scan');
    store.set('lfu:scan', entry(1_000));
    expect(store.lru.has('lfu:scan')).toBe(false);
    expect(store.rejections).toBe(1);
    for (let i = 0; i < 3; i++) store.record('lfu:scan');
    store.set('lfu:scan', entry(1_000));
    expect(store.lru.has('lfu:scan')).toBe(true);
    // An LRU class's key always enters.
    store.set('lru:new', entry(1_000));
    expect(store.lru.has('lru:new')).toBe(true);
  });

  it('replacing a key already in L1 is never refused (a write-through must not leave the old value)', () => {
    const store = new L1Store(3_000, 1_000, () => undefined, () => true, 100);
    for (let i = 0; i < 3; i++) {
      for (let r = 0; r < 5; r++) store.record(`lfu:${i}`);
      store.set(`lfu:${i}`, entry(900));
    }
    store.set('lfu:0', { ...entry(900), createdAt: 2 });
    expect(store.lru.get('lfu:0')?.createdAt).toBe(2);
  });
});
