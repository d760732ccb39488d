/**
 * One policy per data class: how long an entry is fresh, how long a stale copy may still be
 * served while it is refreshed (grace), which strategy fills it, and what HTTP caches may do
 * with responses built from it. Defaults come from the seeds; every number is configurable.
 */
export const DATA_CLASSES = ['strategyPerformance', 'marketSnapshot', 'historicalBars', 'predictions', 'portfolio', 'instruments'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

/**
 * - `cache-aside`: read through the cache, load on miss, drop on invalidation.
 * - `write-through`: writers put the new value in the cache as they commit it (events carry it).
 * - `write-behind`: the cache takes the value now and persists it later, batched; only for data
 *   that can be recomputed, so a lost write costs a recomputation and never a wrong answer.
 * - `refresh-ahead`: hot keys are reloaded in the background before they expire, so readers
 *   never wait for the loader.
 */
export type Strategy = 'cache-aside' | 'write-through' | 'write-behind' | 'refresh-ahead';

/**
 * How the class's new entries compete for the L1 when it is full: `lru` always enters (the least
 * recently used entry goes), `lfu` enters only if read more often than that entry (TinyLFU admission,
 * l1-store.ts). Chosen per class by replaying a recorded trading-day trace at equal memory
 * (test/cache/eviction-policy.test.ts, bench:cache-policy, docs/benchmarks.md).
 */
export type Eviction = 'lru' | 'lfu';
export const EVICTIONS: readonly Eviction[] = ['lru', 'lfu'];

export interface CachePolicy {
  strategy: Strategy;
  /** Freshness, milliseconds. */
  ttlMs: number;
  /** How long past `ttlMs` a stale copy may be served when the loader fails or while it refreshes; 0 = never. */
  graceMs: number;
  /** `private` data is keyed by account and never stored by shared HTTP caches. */
  visibility: 'public' | 'private';
  /** Expensive to compute: also kept in the database tier (cache_computed_results) when `cache.db-tier` is on. */
  persist: boolean;
  eviction: Eviction;
}

export type CachePolicies = Record<DataClass, CachePolicy>;

const MINUTE = 60_000;

export const DEFAULT_POLICIES: CachePolicies = {
  // Recomputed by backtests and written through by the computation (analysis/http/performance-cache.ts); a stale
  // figure is harmless for a while, so serve it while refreshing.
  strategyPerformance: { strategy: 'write-through', ttlMs: 15 * MINUTE, graceMs: 60 * MINUTE, visibility: 'private', persist: true, eviction: 'lru' },
  // Snapshots are read by everyone at once: refresh them before they expire.
  marketSnapshot: { strategy: 'refresh-ahead', ttlMs: 5 * MINUTE, graceMs: MINUTE, visibility: 'public', persist: false, eviction: 'lru' },
  // Closed ranges never change; open ones are invalidated by new bars. LFU: the largest entries, and sweeps
  // over hundreds of symbols read each range once; keeping those out of a full L1 keeps the popular ones
  // (trading-day trace at the default 36 MiB: 77.5% → 84.5% of all reads hit L1, bars 72.6% → 77.6%).
  historicalBars: { strategy: 'cache-aside', ttlMs: 60 * MINUTE, graceMs: 0, visibility: 'public', persist: true, eviction: 'lfu' },
  // A forecast is keyed by the minute it was made in and dropped by the symbol's next bar: it cannot outlive two minutes.
  predictions: { strategy: 'cache-aside', ttlMs: 2 * MINUTE, graceMs: 0, visibility: 'public', persist: false, eviction: 'lru' },
  // Money: never stale, no grace. No route caches it (src/cache/README.md: valuing an account costs less than a set).
  portfolio: { strategy: 'cache-aside', ttlMs: 10 * MINUTE, graceMs: 0, visibility: 'private', persist: false, eviction: 'lru' },
  // Read on every screen, changed only with the universe (manual invalidation): reload hot keys before they expire.
  instruments: { strategy: 'refresh-ahead', ttlMs: 24 * 60 * MINUTE, graceMs: 24 * 60 * MINUTE, visibility: 'public', persist: false, eviction: 'lru' },
};

/** Fraction of the TTL left at which refresh-ahead reloads a key someone just read. */
export const REFRESH_AHEAD_AT = 0.2;
