/**
 * Recommendations: rules over live data, each answer carrying its evidence (the numbers and the
 * window they come from), the expected gain, how to apply it and how to verify it. Ids are stable
 * (rule and subject), so the state an admin sets (applied, dismissed) sticks to the same finding
 * across evaluations, restarts and instances.
 */
import type { Database, PoolStats } from '../db/database.ts';
import type { FlagState } from '../config/flags.ts';
import { NotFoundError } from '../kernel/errors.ts';
import type { Trend } from '../profiling/memory-watch.ts';
import type { DominantSpan } from '../observability/slowest-traces.ts';
import type { FrameCost } from '../profiling/summaries.ts';
import type { IndexSuggestion } from './index-advisor.ts';
import type { DuplicateIndex, UnusedIndex } from './index-health.ts';

export type Severity = 'critical' | 'warning' | 'info';
export type RecommendationState = 'new' | 'applied' | 'dismissed';

export interface Recommendation {
  id: string;
  rule: string;
  severity: Severity;
  title: string;
  evidence: Record<string, unknown>;
  expectedGain: string;
  apply: string;
  verify: string;
  state: RecommendationState;
}

/** A rule's answer; `state` when the finding itself knows it (an index suggestion already applied). */
type Finding = Omit<Recommendation, 'state'> & { state?: RecommendationState };

/** What the rules read, each from the component that owns it (wired in the composition root). */
export interface RecommendationSignals {
  /** Hits and misses per cache class since start (all tiers). */
  cacheClasses(): Array<{ name: string; hits: number; misses: number }>;
  cacheHitTarget: number;
  indexSuggestions(): IndexSuggestion[];
  indexHealth(): Promise<{ unused: UnusedIndex[]; duplicate: DuplicateIndex[] }>;
  pool(): PoolStats;
  eventLoopDelayP99Ms(): Promise<number>;
  /** Top self-time frames of the latest CPU profiling session, if any. */
  latestCpuProfile(): FrameCost[] | undefined;
  memory(): { suspected: boolean; trend: Trend; growth: Array<{ name: string; bytesDelta: number }> | null };
  /** Routes over the last 5 minutes with their p95 (ms) and request count. */
  routes(): Array<{ route: string; p95: number; count: number }>;
  /** The span that dominates the route's slowest kept trace (none without traces of it). */
  dominantSpan(route: string): { traceId: string; traceMs: number; span: DominantSpan } | undefined;
  queueDepth(): Promise<number>;
  websocket(): Promise<{ connections: number; slowConsumerCloses: number; dropped: number } | undefined>;
  flags(): FlagState[];
  /** Names of the partitions attached to the month-partitioned bars table. */
  barPartitions(): Promise<string[]>;
  now(): number;
}

const MB = 1_048_576;
const SLOW_ROUTE_P95_MS = 200;
const LOOP_DELAY_MS = 50;
const QUEUE_BACKLOG = 100;
const PARTITIONS_KEPT = 24;

type Rule = (s: RecommendationSignals) => Finding[] | Promise<Finding[]>;

const RULES: Rule[] = [
  (s) =>
    s.cacheClasses().flatMap((c) => {
      const total = c.hits + c.misses;
      const rate = total > 0 ? c.hits / total : 1;
      if (total < 1000 || rate >= s.cacheHitTarget) return [];
      return [{
        id: `cache-hit-rate:${c.name}`, rule: 'cache-hit-rate', severity: 'warning',
        title: `Cache class ${c.name} hits ${(rate * 100).toFixed(1)}% (target ${s.cacheHitTarget * 100}%)`,
        evidence: { class: c.name, hits: c.hits, misses: c.misses, window: 'since start' },
        expectedGain: `${Math.round((s.cacheHitTarget - rate) * total)} fewer loads per ${total} reads`,
        apply: `Raise TACHYON_CACHE_TTL_${c.name.replace(/[A-Z]/g, (l) => '_' + l).toUpperCase()}, warm the class at start, or check what invalidates it (GET /api/admin/cache/stats)`,
        verify: 'The class hit rate on GET /api/admin/cache/stats and tachyon_cache_hits_total rises above the target',
      }];
    }),
  (s) =>
    s.indexSuggestions().map((i): Finding => ({
      id: `missing-index:${i.id}`, rule: 'missing-index', severity: i.costReduction > 0.9 ? 'critical' : 'warning',
      title: `Index ${i.table} (${i.columns.join(', ')}) cuts a statement's cost by ${(i.costReduction * 100).toFixed(0)}%`,
      evidence: { statement: i.statement, costBefore: i.costBefore, costAfter: i.costAfter, method: i.method, sizeBytes: i.sizeBytes, tableWrites: i.tableWrites, measured: i.applied },
      ...(i.state === 'applied' ? { state: 'applied' as const } : {}),
      expectedGain: `planner cost ${i.costBefore.toFixed(0)} → ${i.costAfter.toFixed(0)}`,
      apply: `POST /api/performance/database/advice/${i.id}/apply (runs: ${i.ddl})`,
      verify: 'The suggestion records the statement before and after; its mean time on GET /api/performance/database/statements falls',
    })),
  async (s) => {
    const { unused, duplicate } = await s.indexHealth();
    return [
      ...unused.filter((u) => u.sizeBytes >= MB).map((u): Finding => ({
        id: `unused-index:${u.index}`, rule: 'unused-index', severity: 'info',
        title: `Index ${u.index} on ${u.table} has never been scanned`,
        evidence: { ...u, window: 'since statistics were reset' },
        expectedGain: `${(u.sizeBytes / MB).toFixed(1)} MiB and one index update per write on ${u.table}`,
        apply: `DROP INDEX CONCURRENTLY ${u.index} (after checking replicas and rare jobs do not use it)`,
        verify: `Write latency on ${u.table} and its size on disk`,
      })),
      ...duplicate.map((d): Finding => ({
        id: `duplicate-index:${d.index}`, rule: 'duplicate-index', severity: 'warning',
        title: `Index ${d.index} is covered by ${d.coveredBy}`,
        evidence: { ...d },
        expectedGain: `${(d.sizeBytes / MB).toFixed(1)} MiB and one index update per write on ${d.table}`,
        apply: `DROP INDEX CONCURRENTLY ${d.index}`,
        verify: `The statements that used it now use ${d.coveredBy} (GET /api/performance/database/statements/:id plans)`,
      })),
    ];
  },
  (s) => {
    const pool = s.pool();
    if (pool.waiting === 0 && pool.total - pool.idle < pool.max) return [];
    return [{
      id: 'pool-saturation', rule: 'pool-saturation', severity: pool.waiting > 0 ? 'warning' : 'info',
      title: `Database pool ${pool.waiting > 0 ? `has ${pool.waiting} queries waiting` : 'is fully in use'}`,
      evidence: { ...pool, window: 'now' },
      expectedGain: 'Queries stop waiting for a connection',
      apply: 'Raise DATABASE_POOL_SIZE within the server\'s max_connections, put PgBouncer in front, or cut the statements that hold connections longest',
      verify: 'tachyon_db_pool_waiting stays at 0 under the same load',
    }];
  },
  async (s) => {
    const p99 = await s.eventLoopDelayP99Ms();
    if (p99 < LOOP_DELAY_MS) return [];
    const frames = s.latestCpuProfile();
    return [{
      id: 'event-loop-delay', rule: 'event-loop-delay', severity: p99 > 4 * LOOP_DELAY_MS ? 'critical' : 'warning',
      title: `Event-loop delay p99 ${p99.toFixed(0)} ms`,
      evidence: { p99Ms: p99, window: 'prom-client monitor, since the last scrape reset', topFrames: frames?.slice(0, 5) ?? 'no CPU profile yet: POST /api/performance/profiling/start {"kind":"cpu"}' },
      expectedGain: 'Every request and WebSocket flush on this instance waits less',
      apply: frames ? `Move or slice the work of ${frames[0]?.frame}` : 'Take a CPU profile under the same load to find the blocking work',
      verify: 'nodejs_eventloop_lag_p99_seconds below 0.05',
    }];
  },
  (s) => {
    const m = s.memory();
    if (!m.suspected) return [];
    return [{
      id: 'memory-growth', rule: 'memory-growth', severity: 'critical',
      title: `Post-GC heap grows ${(m.trend.bytesPerMinute / MB).toFixed(1)} MiB/min`,
      evidence: { trend: m.trend, growth: m.growth?.slice(0, 5) ?? null },
      expectedGain: 'No out-of-memory restart',
      apply: m.growth?.[0] ? `Find what keeps ${m.growth[0].name} objects alive (GET /api/performance/memory/leaks, then a heap snapshot in DevTools)` : 'POST /api/performance/memory/leaks/diagnose',
      verify: 'tachyon_memory_heap_growth_bytes_per_minute near 0 and tachyon_memory_leak_suspected 0',
    }];
  },
  (s) =>
    s.routes().filter((r) => r.p95 > SLOW_ROUTE_P95_MS && r.count >= 20).map((r) => {
      const dominant = s.dominantSpan(r.route);
      const span = dominant?.span;
      return {
        id: `slow-route:${r.route}`, rule: 'slow-route', severity: 'warning',
        title: `${r.route} p95 ${r.p95.toFixed(0)} ms`,
        evidence: { ...r, window: '5m', slowestTrace: dominant ? { traceId: dominant.traceId, durationMs: dominant.traceMs, dominantSpan: span } : 'no trace of this route kept yet (GET /api/performance/traces)' },
        expectedGain: `p95 under ${SLOW_ROUTE_P95_MS} ms`,
        apply: span
          ? `Fix \`${span.name}\`: ${(span.share * 100).toFixed(0)}% of its slowest trace (${span.selfMs.toFixed(0)} of ${dominant.traceMs.toFixed(0)} ms)${span.attributes['db.query.text'] ? ' — a statement: see the database advisor' : ''}`
          : 'Open its slowest trace (GET /api/performance/traces) and fix the span that dominates it: a statement (see the database advisor), a cache miss, a queue wait',
        verify: `The route's p95 on GET /api/performance/metrics`,
      };
    }),
  async (s) => {
    const depth = await s.queueDepth();
    if (depth <= QUEUE_BACKLOG) return [];
    return [{
      id: 'queue-backlog', rule: 'queue-backlog', severity: 'warning',
      title: `${depth} analysis tasks waiting`,
      evidence: { depth, window: 'now' },
      expectedGain: 'Backtests and forecasts answer sooner',
      apply: 'Raise TACHYON_ANALYSIS_QUEUE_CONCURRENCY or TACHYON_ANALYSIS_THREADS, or add instances (the queue is shared with REDIS_URL)',
      verify: 'tachyon_task_queue_depth below 100',
    }];
  },
  async (s) => {
    const ws = await s.websocket();
    if (!ws || ws.slowConsumerCloses + ws.dropped === 0) return [];
    return [{
      id: 'websocket-slow-consumers', rule: 'websocket-slow-consumers', severity: 'info',
      title: `${ws.slowConsumerCloses} WebSocket clients closed as slow consumers, ${ws.dropped} frames dropped`,
      evidence: { ...ws, window: 'since start' },
      expectedGain: 'Clients keep their streams',
      apply: 'Ask clients for fewer channels or the msgpack subprotocol; raise TACHYON_WS_SEND_BUFFER_SOFT if they are on slow links',
      verify: 'tachyon_websocket_slow_consumer_closes stops growing',
    }];
  },
  (s) =>
    s.flags().filter((f) => f.default && !f.enabled).map((f) => ({
      id: `flag-off:${f.name}`, rule: 'flag-off', severity: 'info',
      title: `Optimization ${f.name} is off`,
      evidence: { flag: f.name, description: f.description, source: f.source },
      expectedGain: 'See its row in docs/benchmarks.md (per-flag attribution)',
      apply: `PUT /api/admin/flags/${f.name} {"enabled":true} or TACHYON_FLAGS=${f.name}=on`,
      verify: 'Throughput and p95 of the affected routes',
    })),
  async (s) => {
    const names = await s.barPartitions();
    const next = new Date(s.now());
    next.setUTCMonth(next.getUTCMonth() + 1, 1);
    const ahead = `bars_1m_y${next.getUTCFullYear()}m${String(next.getUTCMonth() + 1).padStart(2, '0')}`;
    const out: Finding[] = [];
    if (!names.includes(ahead)) {
      out.push({
        id: `partition-ahead:${ahead}`, rule: 'partition-ahead', severity: 'info',
        title: `Next month's bars partition ${ahead} does not exist yet`,
        evidence: { attached: names.length, missing: ahead },
        expectedGain: 'The first bar batch of the month does not pay for the DDL',
        apply: 'Partition maintenance creates months ahead (TACHYON_PARTITIONS_AHEAD_MONTHS) at start and hourly: check the log for "partition maintenance failed"',
        verify: `${ahead} listed under bars_1m`,
      });
    }
    if (names.length > PARTITIONS_KEPT) {
      out.push({
        id: 'partitions-attached', rule: 'partitions-attached', severity: 'info',
        title: `${names.length} bars partitions attached`,
        evidence: { attached: names.length, oldest: names[0] },
        expectedGain: 'Faster planning of bar queries, smaller backups of the hot set',
        apply: `Set TACHYON_PARTITIONS_ARCHIVE_AFTER_MONTHS to detach old months into the archive schema (kept, restorable: docs/operations.md "Partitions"), oldest ${names[0]}`,
        verify: 'Planning time of the bars statements',
      });
    }
    return out;
  },
];

export class Recommendations {
  constructor(
    private readonly db: Database,
    private readonly signals: RecommendationSignals,
  ) {}

  async list(): Promise<Recommendation[]> {
    const findings = (await Promise.all(RULES.map((rule) => rule(this.signals)))).flat();
    const { rows } = await this.db.query<{ id: string; state: RecommendationState }>('SELECT id, state FROM advisor_recommendation_states WHERE id = ANY($1::text[])', [
      findings.map((f) => f.id),
    ]);
    const states = new Map(rows.map((r) => [r.id, r.state]));
    const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
    return findings.map((f) => ({ ...f, state: states.get(f.id) ?? f.state ?? 'new' })).sort((a, b) => order[a.severity] - order[b.severity]);
  }

  /** Sets the state of a current recommendation (a finding that no longer holds is 404). */
  async setState(id: string, state: RecommendationState, by: string): Promise<Recommendation> {
    const current = (await this.list()).find((r) => r.id === id);
    if (!current) throw new NotFoundError(`no current recommendation ${id}`);
    await this.db.query(
      `INSERT INTO advisor_recommendation_states (id, state, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [id, state, by],
    );
    return { ...current, state };
  }
}
