/** Counters per data class and tier, read by GET /api/admin/cache/stats and the benchmark. */
import { DATA_CLASSES, type DataClass } from './policies.ts';

export interface ClassCounters {
  hitsL1: number;
  hitsL2: number;
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
      hits += c.hitsL1 + c.hitsL2 + c.stale + c.collapsed;
      total += c.hitsL1 + c.hitsL2 + c.stale + c.collapsed + c.misses;
    }
    return total === 0 ? 0 : hits / total;
  }

  reset(): void {
    for (const cls of DATA_CLASSES) this.byClass[cls] = zero();
  }
}

function zero(): ClassCounters {
  return { hitsL1: 0, hitsL2: 0, stale: 0, misses: 0, collapsed: 0, loads: 0, loadErrors: 0, discarded: 0, refreshAhead: 0, invalidations: 0 };
}
