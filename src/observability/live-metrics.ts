/**
 * The compact snapshot the admin `metrics` WebSocket channel streams about once a second (the
 * dashboard's performance view; its shape is live-snapshot.ts), read from what the performance API
 * already measures. It is built only while someone subscribes (the gateway asks), so an unwatched
 * instance pays nothing. A subscribe gets the full snapshot (the whole latency heat map); each update carries only the heat
 * map's current and previous slots, which the client merges by slot start.
 */
import type { Database } from '../db/database.ts';
import type { QueueStats } from '../analysis/task-queue/port.ts';
import type { Progress } from '../loadtest/progress.ts';
import type { RealtimeStats } from '../realtime/gateway.ts';
import type { Latency, LiveSnapshot } from './live-snapshot.ts';
import type { Observability } from './observability.ts';
import { LATENCY_SLOT_MS, WINDOWS, type WindowStats } from './windows.ts';

/** Heat-map bucket upper bounds, ms: roughly ×2.5 steps from a cached read to a timeout. */
export const HEATMAP_BOUNDS_MS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] as const;
const TOP_ROUTES = 8;
const TOP_STATEMENTS = 8;

export interface LiveMetricsDeps {
  observability: Observability;
  db: Pick<Database, 'stats'>;
  /** The load test in progress on this instance, if any. */
  loadTest: () => { id: number; progress: Progress | undefined } | undefined;
  now: () => number;
}

type CacheView = { hits: { byTier: Record<string, Record<string, number>> }; misses: { byTier: Record<string, Record<string, number>> } };

export class LiveMetrics {
  constructor(private readonly deps: LiveMetricsDeps) {}

  /** `full`: the whole heat map (a subscriber's first snapshot); else its last two slots. */
  async snapshot(full: boolean): Promise<LiveSnapshot> {
    const { observability: o, db, now } = this.deps;
    const ts = now();
    const [memory, taskQueue, websocket, cache, loopP50, loopP99] = await Promise.all([
      o.runtime.memory(),
      o.metrics.stats('task_queue') as Promise<QueueStats | undefined>,
      o.metrics.stats('websocket') as Promise<RealtimeStats | undefined>,
      o.metrics.stats('cache') as Promise<CacheView | undefined>,
      this.gauge('nodejs_eventloop_lag_p50_seconds'),
      this.gauge('nodejs_eventloop_lag_p99_seconds'),
    ]);
    const cpu = o.runtime.utilization(WINDOWS['1m']);
    const pool = db.stats();
    const active = this.deps.loadTest();
    return {
      ts,
      instance: o.instance.id,
      http: latency(o.http.overall.stats(WINDOWS['1m'])),
      routes: o.http.routes(WINDOWS['1m']).slice(0, TOP_ROUTES).map((r) => ({ route: r.route, ...latency(r) })),
      heatmap: { slotMs: LATENCY_SLOT_MS, boundsMs: [...HEATMAP_BOUNDS_MS], columns: o.http.overall.heatmap(HEATMAP_BOUNDS_MS, full ? -Infinity : ts - ts % LATENCY_SLOT_MS - LATENCY_SLOT_MS) },
      memory: { rssBytes: memory.rssBytes, heapUsedBytes: memory.heapUsedBytes, limitBytes: memory.limitBytes },
      cpu: cpu ? { cores: o.runtime.cores, ...cpu } : null,
      eventLoopDelayMs: { p50: loopP50 * 1000, p99: loopP99 * 1000 },
      taskQueue: taskQueue ?? null,
      connections: {
        http: o.network.stats().openConnections,
        websocket: websocket?.connections ?? 0,
        subscriptions: websocket?.subscriptions ?? 0,
        messagesOutPerSec: websocket?.messagesOutPerSec ?? 0,
      },
      cache: cache ? hitRates(cache) : {},
      database: {
        queries: latency(o.database.window.stats(WINDOWS['1m'])),
        statements: o.database.slowest(TOP_STATEMENTS).map((s) => ({ statement: s.statement, count: s.count, med: s.med, p95: s.p95, p99: s.p99 })),
        pool: { inUse: pool.total - pool.idle, waiting: pool.waiting, max: pool.max },
      },
      alerts: o.alerts.activeAlerts().map(({ rule, severity, state, summary }) => ({ rule, severity, state, summary })),
      loadTest: active ? { id: active.id, progress: active.progress ?? null } : null,
    };
  }

  private async gauge(name: string): Promise<number> {
    return (await this.deps.observability.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
  }
}

function latency(w: WindowStats): Latency {
  return { ratePerSecond: w.ratePerSecond, errorRatio: w.errorRatio, p50: w.p50, p95: w.p95, p99: w.p99 };
}

function hitRates({ hits, misses }: CacheView): LiveSnapshot['cache'] {
  const rates: LiveSnapshot['cache'] = {};
  for (const [cls, byTier] of Object.entries(hits.byTier)) {
    rates[cls] = {};
    for (const [tier, hit] of Object.entries(byTier)) {
      const total = hit + (misses.byTier[cls]?.[tier] ?? 0);
      rates[cls][tier] = total === 0 ? null : hit / total;
    }
  }
  return rates;
}
