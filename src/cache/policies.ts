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
}

export type CachePolicies = Record<DataClass, CachePolicy>;

const MINUTE = 60_000;

export const DEFAULT_POLICIES: CachePolicies = {
  // Recomputed by backtests; a stale figure is harmless for a while, so serve it while refreshing.
  strategyPerformance: { strategy: 'write-behind', ttlMs: 15 * MINUTE, graceMs: 60 * MINUTE, visibility: 'private', persist: true },
  // Snapshots are read by everyone at once: refresh them before they expire.
  marketSnapshot: { strategy: 'refresh-ahead', ttlMs: 5 * MINUTE, graceMs: MINUTE, visibility: 'public', persist: false },
  // Closed ranges never change; open ones are invalidated by new bars.
  historicalBars: { strategy: 'cache-aside', ttlMs: 60 * MINUTE, graceMs: 0, visibility: 'public', persist: true },
  // A forecast is keyed by the minute it was made in and dropped by the symbol's next bar: it cannot outlive two minutes.
  predictions: { strategy: 'cache-aside', ttlMs: 2 * MINUTE, graceMs: 0, visibility: 'public', persist: false },
  // Money: never stale. Fills invalidate, portfolio events write through, no grace.
  portfolio: { strategy: 'write-through', ttlMs: 10 * MINUTE, graceMs: 0, visibility: 'private', persist: false },
  instruments: { strategy: 'cache-aside', ttlMs: 24 * 60 * MINUTE, graceMs: 24 * 60 * MINUTE, visibility: 'public', persist: false },
};

/** Fraction of the TTL left at which refresh-ahead reloads a key someone just read. */
export const REFRESH_AHEAD_AT = 0.2;
