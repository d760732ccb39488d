/**
 * RunResult: the JSON-safe outcome of a run — what reports, baselines, the CLI and the admin API consume.
 */
import { encodeHistogram, latencyStats } from '../kernel/histogram.ts';
import type { LatencyStats } from '../kernel/histogram.ts';
import { aggregate } from './metrics.ts';
import type { MetricKind, MetricsRegistry, Series } from './metrics.ts';
import type { IntervalSummary } from './intervals.ts';
import type { ExecutorConfig } from './scenario.ts';
import type { ThresholdResult } from './thresholds.ts';

export type MetricSummary =
  | ({ kind: 'trend' } & LatencyStats)
  | { kind: 'counter'; count: number; rate: number }
  | { kind: 'rate'; rate: number; passes: number; fails: number };

export interface EndpointSummary {
  method: string;
  endpoint: string;
  requests: number;
  /** Requests per second over the run. */
  rps: number;
  failedRate: number;
  latency: LatencyStats;
}

export interface TimelinePoint {
  /** Seconds since the run's start. */
  t: number;
  requests: number;
  failed: number;
  iterations: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export type ExitCode = 0 | 99 | 105;

export interface RunResult {
  version: 1;
  scenario: string;
  target: string;
  executor: ExecutorConfig;
  model: 'open' | 'closed';
  /** Load-generating threads (shards), over all agents in a distributed run. */
  workers: number;
  /** A distributed run's agents and the execution segment each ran. */
  agents?: Array<{ url: string; segment: string; threads: number }>;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: 'passed' | 'failed' | 'aborted';
  /** Why the run stopped early, if it did. */
  aborted?: { reason: 'signal' | 'threshold'; detail: string };
  /** 0 passed, 99 thresholds failed (as k6), 105 aborted from outside (as k6). */
  exitCode: ExitCode;
  /** Whole run per metric name, all tags merged. */
  metrics: Record<string, MetricSummary>;
  /** Per series with tags (`metric{tag:value,…}`) for custom metrics and per-endpoint thresholds. */
  series: Record<string, MetricSummary>;
  endpoints: EndpointSummary[];
  timeline: TimelinePoint[];
  thresholds: ThresholdResult[];
  /** Spans judged on their own thresholds (faults and recoveries of a chaos run), when the caller named any. */
  intervals?: IntervalSummary[];
  errors: Array<{ message: string; count: number }>;
  /** Whole-run HDR histograms (compressed base64, µs) per trend metric, for exact re-merging and re-analysis. */
  histograms: Record<string, string>;
}

export function summarize(series: readonly Series[], runSeconds: number): MetricSummary | undefined {
  const agg = aggregate(series);
  if (!agg) return undefined;
  return summaryOf(agg.kind, agg, runSeconds);
}

function summaryOf(kind: MetricKind, agg: NonNullable<ReturnType<typeof aggregate>>, runSeconds: number): MetricSummary {
  if (kind === 'trend') return { kind, ...latencyStats(agg.histogram) };
  if (kind === 'counter') return { kind, count: agg.sum, rate: agg.sum / Math.max(runSeconds, 1e-9) };
  return { kind, rate: agg.total === 0 ? 0 : agg.pass / agg.total, passes: agg.pass, fails: agg.total - agg.pass };
}

export interface ResultInputs {
  registry: MetricsRegistry;
  runSeconds: number;
}

export function metricSummaries({ registry, runSeconds }: ResultInputs): Pick<RunResult, 'metrics' | 'series' | 'histograms'> {
  const metrics: Record<string, MetricSummary> = {};
  const histograms: Record<string, string> = {};
  for (const name of registry.metricNames().sort()) {
    const all = registry.select(name);
    const agg = aggregate(all);
    if (!agg) continue;
    metrics[name] = summaryOf(agg.kind, agg, runSeconds);
    if (agg.histogram) histograms[name] = encodeHistogram(agg.histogram);
  }
  const series: Record<string, MetricSummary> = {};
  for (const s of registry.allSeries().sort((a, b) => a.key.localeCompare(b.key))) {
    if (Object.keys(s.tags).length === 0) continue;
    const summary = summarize([s], runSeconds);
    if (summary) series[s.key] = summary;
  }
  return { metrics, series, histograms };
}

export function endpointSummaries({ registry, runSeconds }: ResultInputs): EndpointSummary[] {
  const groups = new Map<string, { method: string; endpoint: string; durations: Series[]; failed: Series[] }>();
  const groupOf = (s: Series) => {
    const method = s.tags.method ?? '';
    const endpoint = s.tags.endpoint ?? '';
    const key = `${method} ${endpoint}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { method, endpoint, durations: [], failed: [] }));
    return g;
  };
  for (const s of registry.select('http_req_duration')) groupOf(s).durations.push(s);
  for (const s of registry.select('http_req_failed')) groupOf(s).failed.push(s);
  return [...groups.values()]
    .map((g) => {
      const latency = latencyStats(aggregate(g.durations)?.histogram);
      const failed = aggregate(g.failed);
      return {
        method: g.method,
        endpoint: g.endpoint,
        requests: latency.count,
        rps: latency.count / Math.max(runSeconds, 1e-9),
        failedRate: failed && failed.total > 0 ? failed.pass / failed.total : 0,
        latency,
      };
    })
    .sort((a, b) => b.requests - a.requests);
}

export function timeline(registry: MetricsRegistry): TimelinePoint[] {
  const durations = registry.select('http_req_duration');
  const failed = registry.select('http_req_failed');
  const iterations = registry.select('iterations');
  const points: TimelinePoint[] = [];
  const last = registry.lastSecond();
  for (let t = 0; t <= last; t++) {
    const d = aggregate(durations, t, t);
    const stats = d?.histogram && d.histogram.totalCount > 0 ? latencyStats(d.histogram) : undefined;
    points.push({
      t,
      requests: stats?.count ?? 0,
      failed: aggregate(failed, t, t)?.pass ?? 0,
      iterations: aggregate(iterations, t, t)?.sum ?? 0,
      p50: stats?.med ?? 0,
      p95: stats?.p95 ?? 0,
      p99: stats?.p99 ?? 0,
      max: stats?.max ?? 0,
    });
  }
  return points;
}
