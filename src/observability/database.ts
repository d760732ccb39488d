/**
 * Database telemetry from `Database.observe`: query duration by statement fingerprint and target
 * (Prometheus), sliding HDR windows of all queries, cumulative per-statement histograms for the
 * slowest-statements view, and a client span per query under the active request span. The pool's
 * in-use and waiting connections are read at scrape time.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Database, QueryObservation } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import { createHistogram, latencyStats, recordMs, type Histogram } from '../kernel/histogram.ts';
import type { Metrics } from './metrics.ts';
import type { SeriesHistogram } from './series-histogram.ts';
import { StatementNames } from './statement.ts';
import type { Tracing } from './tracing.ts';
import { LatencyWindow } from './windows.ts';

export interface DatabaseTelemetryOptions {
  db: Database;
  metrics: Metrics;
  tracing: Tracing;
  clock: Clock;
  enabled: () => boolean;
}

/** Every this many calls of a statement, the call site is sampled again (a stack trace costs ~10 µs). */
const SOURCE_SAMPLE_EVERY = 1000;
/** The first calls are all sampled: a statement's first run on PostgreSQL can resume outside its caller's async chain (no project frame). */
const SOURCE_FIRST_SAMPLES = 3;

/** In-app statement statistics (what pg_stat_statements keeps, plus percentiles and the call site). */
interface StatementEntry {
  histogram: Histogram;
  calls: number;
  errors: number;
  totalMs: number;
  rows: number;
  /** The first frame outside the database and telemetry layers, from a sampled stack. */
  source: string | undefined;
  /** The outermost project frame of the same stack (async frames included): the route handler or job that issued it. */
  issuer: string | undefined;
}

export interface StatementStats {
  statement: string;
  calls: number;
  errors: number;
  totalMs: number;
  meanMs: number;
  p95Ms: number;
  p99Ms: number;
  rows: number;
  source: string | null;
  issuer: string | null;
}

const cwd = `${process.cwd()}/`;

/** `Class.method (src/x/y.ts:12)` for each project frame of a stack outside the database and telemetry layers, innermost first. */
function projectFrames(stack: string | undefined): string[] {
  const frames: string[] = [];
  for (const line of stack?.split('\n').slice(1) ?? []) {
    const match = /at (?:async )?(?:(.+?) \()?(?:file:\/\/)?([^()]+?):(\d+):\d+\)?$/.exec(line.trim());
    if (!match) continue;
    const [, fn, file, lineNo] = match;
    if (!file!.startsWith(cwd) || /\/node_modules\/|\/src\/(db|observability)\//.test(file!)) continue;
    frames.push(`${fn ?? '(anonymous)'} (${file!.slice(cwd.length)}:${lineNo})`);
  }
  return frames;
}

/** Deep enough to reach a route handler through the component, repository and pool frames. */
const SAMPLED_STACK_FRAMES = 64;

/** Where a statement comes from (sampled): its direct caller and the outermost project frame, the route or job. */
function sampleOrigin(): { source: string | undefined; issuer: string | undefined } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = SAMPLED_STACK_FRAMES;
  const frames = projectFrames(new Error().stack);
  Error.stackTraceLimit = limit;
  return { source: frames[0], issuer: frames.at(-1) };
}

export class DatabaseTelemetry {
  readonly window: LatencyWindow;
  private readonly names = new StatementNames();
  private readonly statements = new Map<string, StatementEntry>();
  private readonly duration: SeriesHistogram<'statement' | 'target' | 'outcome'>;
  private readonly unobserve: () => void;

  constructor(private readonly options: DatabaseTelemetryOptions) {
    this.window = new LatencyWindow(options.clock);
    this.duration = options.metrics.seriesHistogram({
      name: 'tachyon_db_query_duration_seconds',
      help: 'Database query duration by statement fingerprint, target (primary/replica) and outcome',
      labelNames: ['statement', 'target', 'outcome'],
    });
    options.metrics.registerCollector('db_pool', () => {
      const pool = options.db.stats();
      return { inUse: pool.total - pool.idle, idle: pool.idle, waiting: pool.waiting, max: pool.max };
    });
    this.unobserve = options.db.observe((o) => this.record(o));
  }

  private record(o: QueryObservation): void {
    if (!this.options.enabled()) return;
    const statement = this.names.of(o.sql);
    this.duration.series(statement, o.target, o.ok ? 'ok' : 'error').observe(o.durationMs / 1000);
    this.window.record(o.durationMs, !o.ok);
    let entry = this.statements.get(statement);
    if (!entry) this.statements.set(statement, (entry = { histogram: createHistogram(), calls: 0, errors: 0, totalMs: 0, rows: 0, source: undefined, issuer: undefined }));
    recordMs(entry.histogram, o.durationMs);
    const call = entry.calls++;
    if (call < SOURCE_FIRST_SAMPLES || call % SOURCE_SAMPLE_EVERY === 0) {
      const origin = sampleOrigin();
      entry.source = origin.source ?? entry.source;
      entry.issuer = origin.issuer ?? entry.issuer;
    }
    if (!o.ok) entry.errors++;
    entry.totalMs += o.durationMs;
    entry.rows += o.rows;
    this.span(o, statement);
  }

  /** The observer runs after the query, inside the caller's context: the span is back-dated to its start. */
  private span(o: QueryObservation, statement: string): void {
    const { tracing } = this.options;
    const parent = context.active();
    if (!tracing.enabled || !trace.getSpan(parent)) return;
    const end = Date.now();
    const span = tracing.tracer.startSpan(
      'db.query',
      { kind: SpanKind.CLIENT, startTime: end - o.durationMs, attributes: { 'db.system.name': 'postgresql', 'db.query.text': statement, 'db.target': o.target } },
      parent,
    );
    if (!o.ok) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  }

  /** Statements by p95 since start (the pg_stat_statements view, with percentiles). */
  slowest(limit = 10) {
    return [...this.statements]
      .map(([statement, e]) => ({ statement, ...latencyStats(e.histogram) }))
      .sort((a, b) => b.p95 - a.p95)
      .slice(0, limit);
  }

  /** Per-statement statistics since start, by total time (where the database's time goes). */
  statementStats(limit = 20): StatementStats[] {
    return [...this.statements]
      .map(([statement, e]) => {
        const stats = latencyStats(e.histogram);
        return { statement, calls: e.calls, errors: e.errors, totalMs: e.totalMs, meanMs: e.totalMs / e.calls, p95Ms: stats.p95, p99Ms: stats.p99, rows: e.rows, source: e.source ?? null, issuer: e.issuer ?? null };
      })
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, limit);
  }

  close(): void {
    this.unobserve();
  }
}
