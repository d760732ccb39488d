/**
 * Baselines: save a run's summaries, compare a later run against them, and list regressions beyond a
 * tolerance per metric and statistic. Small absolute changes are ignored (a p95 going 0.3 → 0.4 ms is
 * +33% but noise), so a tolerance needs both the relative and the absolute step to be exceeded.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BadRequestError } from '../kernel/errors.ts';
import type { MetricSummary, RunResult } from './results.ts';

export interface Baseline {
  version: 1;
  savedAt: string;
  scenario: string;
  executor: RunResult['executor'];
  metrics: Record<string, MetricSummary>;
  series: Record<string, MetricSummary>;
}

export function toBaseline(result: RunResult): Baseline {
  return { version: 1, savedAt: result.endedAt, scenario: result.scenario, executor: result.executor, metrics: result.metrics, series: result.series };
}

export async function saveBaseline(path: string, result: RunResult): Promise<Baseline> {
  const baseline = toBaseline(result);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(baseline, null, 2)}\n`);
  return baseline;
}

export async function loadBaseline(path: string): Promise<Baseline> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Baseline>;
  if (parsed.version !== 1 || !parsed.metrics) throw new BadRequestError(`${path} is not a load-test baseline (version 1)`);
  return parsed as Baseline;
}

export interface CompareOptions {
  /** Allowed relative worsening (0.1 = 10%) for every compared statistic unless overridden. */
  tolerance?: number;
  /** Per metric or series key (`http_req_duration{endpoint:quotes}`): one tolerance, or one per statistic. */
  perMetric?: Record<string, number | Record<string, number>>;
  /** Statistics compared for trends (default p95, p99, avg). */
  trendStats?: Array<'avg' | 'med' | 'p90' | 'p95' | 'p99' | 'p999' | 'max'>;
  /** Changes smaller than this are never regressions: ms for trends, absolute share for rates. */
  minAbsoluteDelta?: { trendMs?: number; rate?: number };
  /** Rate metrics where higher is better (default: checks and names ending in _ok / _success). */
  higherIsBetter?: (metric: string) => boolean;
  /** Also compare tagged series (per endpoint etc.), not only whole metrics (default true). */
  includeSeries?: boolean;
}

export interface MetricDelta {
  metric: string;
  stat: string;
  baseline: number;
  current: number;
  /** (current − baseline) / baseline; ±Infinity when the baseline was 0. */
  change: number;
  tolerance: number;
  worseWhen: 'higher' | 'lower';
}

export interface Comparison {
  passed: boolean;
  regressions: MetricDelta[];
  improvements: MetricDelta[];
  compared: MetricDelta[];
  /** Metrics in the baseline that this run did not produce. */
  missing: string[];
}

const defaultHigherIsBetter = (metric: string): boolean => metric === 'checks' || /(_ok|_success)$/.test(metric);

export function compareWithBaseline(current: Pick<RunResult, 'metrics' | 'series'>, baseline: Baseline, options: CompareOptions = {}): Comparison {
  const defaultTolerance = options.tolerance ?? 0.1;
  const trendStats = options.trendStats ?? ['p95', 'p99', 'avg'];
  const minTrendMs = options.minAbsoluteDelta?.trendMs ?? 1;
  const minRate = options.minAbsoluteDelta?.rate ?? 0.005;
  const higherIsBetter = options.higherIsBetter ?? defaultHigherIsBetter;
  const compared: MetricDelta[] = [];
  const regressions: MetricDelta[] = [];
  const improvements: MetricDelta[] = [];
  const missing: string[] = [];

  const toleranceFor = (key: string, metric: string, stat: string): number => {
    const spec = options.perMetric?.[key] ?? options.perMetric?.[metric];
    if (typeof spec === 'number') return spec;
    return spec?.[stat] ?? defaultTolerance;
  };

  const entries: Array<[string, MetricSummary, MetricSummary | undefined]> = [
    ...Object.entries(baseline.metrics).map(([k, v]): [string, MetricSummary, MetricSummary | undefined] => [k, v, current.metrics[k]]),
    ...(options.includeSeries === false ? [] : Object.entries(baseline.series).map(([k, v]): [string, MetricSummary, MetricSummary | undefined] => [k, v, current.series[k]])),
  ];
  for (const [key, base, now] of entries) {
    if (!now || now.kind !== base.kind) {
      missing.push(key);
      continue;
    }
    const metric = key.split('{', 1)[0] as string;
    const stats: Array<{ stat: string; b: number; c: number; worseWhen: 'higher' | 'lower'; minDelta: number }> = [];
    if (base.kind === 'trend' && now.kind === 'trend') {
      if (base.count === 0 || now.count === 0) continue;
      for (const stat of trendStats) stats.push({ stat, b: base[stat], c: now[stat], worseWhen: 'higher', minDelta: minTrendMs });
    } else if (base.kind === 'rate' && now.kind === 'rate') {
      stats.push({ stat: 'rate', b: base.rate, c: now.rate, worseWhen: higherIsBetter(metric) ? 'lower' : 'higher', minDelta: minRate });
    } else if (base.kind === 'counter' && now.kind === 'counter') {
      // Throughput: a counter's per-second rate falling is the regression (totals depend on duration).
      stats.push({ stat: 'rate', b: base.rate, c: now.rate, worseWhen: 'lower', minDelta: 0 });
    }
    for (const { stat, b, c, worseWhen, minDelta } of stats) {
      const tolerance = toleranceFor(key, metric, stat);
      const change = b === 0 ? (c === 0 ? 0 : Math.sign(c) * Infinity) : (c - b) / b;
      const delta: MetricDelta = { metric: key, stat, baseline: b, current: c, change, tolerance, worseWhen };
      compared.push(delta);
      const worsening = worseWhen === 'higher' ? change : -change;
      if (Math.abs(c - b) < minDelta) continue;
      if (worsening > tolerance) regressions.push(delta);
      else if (worsening < -tolerance) improvements.push(delta);
    }
  }
  return { passed: regressions.length === 0, regressions, improvements, compared, missing };
}
