/** Counters per data class and tier, read by GET /api/admin/cache/stats and the benchmark. */
import { DATA_CLASSES, type DataClass } from './policies.ts';

export interface ClassCounters {
  hitsL1: number;
  hitsL2: number;
  /** Served by the computed-results table (database tier), see computed-results.ts. */
  hitsDb: number;
  /** Served past its TTL inside the grace period (a refresh was started). */
  stale: number;
  misses: number;
  /** Misses that waited on another caller's load instead of running their own. */
  collapsed: number;
  loads: number;
  loadErrors: number;
  /** Loads whose result was not cached because an invalidation happened meanwhile. */
  discarded: number;
  refreshAhead: number;
  invalidations: number;
}

export class CacheStats {
  readonly byClass = Object.fromEntries(DATA_CLASSES.map((c) => [c, zero()])) as Record<DataClass, ClassCounters>;

  hitRate(cls?: DataClass): number {
    const list = cls ? [this.byClass[cls]] : Object.values(this.byClass);
    let hits = 0;
    let total = 0;
    for (const c of list) {
      hits += c.hitsL1 + c.hitsL2 + c.hitsDb + c.stale + c.collapsed;
      total += c.hitsL1 + c.hitsL2 + c.hitsDb + c.stale + c.collapsed + c.misses;
    }
    return total === 0 ? 0 : hits / total;
  }

  /**
   * The Prometheus view (collector `cache`): `tachyon_cache_hits_total{class,tier}` and
   * `tachyon_cache_misses_total{class,tier}`, where a tier's misses are the reads it did not answer
   * (an L1 miss went on to L2 or the loader), plus per-class counters.
   */
  metrics() {
    const hits: Record<string, Record<string, number>> = {};
    const misses: Record<string, Record<string, number>> = {};
    const other: Record<string, { stale: number; loads: number; loadErrors: number; invalidations: number; refreshAhead: number }> = {};
    for (const cls of DATA_CLASSES) {
      const c = this.byClass[cls];
      hits[cls] = { l1: c.hitsL1, l2: c.hitsL2, db: c.hitsDb };
      misses[cls] = { l1: c.hitsL2 + c.hitsDb + c.misses + c.collapsed, l2: c.hitsDb + c.misses, db: c.misses };
      other[cls] = { stale: c.stale, loads: c.loads, loadErrors: c.loadErrors, invalidations: c.invalidations, refreshAhead: c.refreshAhead };
    }
    // A map keyed by data names no metric of its own: `hits.byTier` is what makes `tachyon_cache_hits`.
    return { hits: { byTier: hits }, misses: { byTier: misses }, byClass: other };
  }

  reset(): void {
    for (const cls of DATA_CLASSES) this.byClass[cls] = zero();
  }
}

function zero(): ClassCounters {
  return { hitsL1: 0, hitsL2: 0, hitsDb: 0, stale: 0, misses: 0, collapsed: 0, loads: 0, loadErrors: 0, discarded: 0, refreshAhead: 0, invalidations: 0 };
}

/** How `CacheStats.metrics()` maps to Prometheus (see Metrics.registerCollector). */
export const CACHE_METRICS_SHAPE = {
  labels: { 'hits.byTier': ['class', 'tier'], 'misses.byTier': ['class', 'tier'], byClass: ['class'] },
  counters: ['hits.byTier', 'misses.byTier', 'byClass.stale', 'byClass.loads', 'byClass.loadErrors', 'byClass.invalidations', 'byClass.refreshAhead'],
} as const;
