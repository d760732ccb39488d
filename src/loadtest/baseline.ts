/**
 * Baselines: save a run's summaries, compare a later run against them, and list regressions beyond a
 * tolerance per metric and statistic. A change is a regression only when it is real, not noise:
 * - large enough: beyond the relative tolerance and an absolute floor (0.3 → 0.4 ms is +33% but noise);
 * - measured on enough samples: a percentile needs at least MIN_TAIL_SAMPLES beyond it in both runs
 *   (p95 needs 100 samples, p99 500), else it is reported as "too few samples", never as a regression;
 * - significant: a percentile's distribution-free confidence interval (order statistics, ranks
 *   n·p ± z·√(n·p·(1−p)), read off the run's percentiles) must not overlap the baseline's; a mean (of
 *   at least MIN_MEAN_SAMPLES), a rate and a throughput need a two-sample z statistic beyond Z_SIGNIFICANT.
 * So two runs of one unchanged system compare as unchanged. Every compared figure carries its verdict
 * (regressed / improved / unchanged / insufficient) and the confidence that the runs differ in it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BadRequestError } from '../kernel/errors.ts';
import { cumulativeStdNormalProbability } from 'simple-statistics';
import { decodeHistogram, US_PER_MS } from '../kernel/histogram.ts';
import type { MetricSummary, RunResult } from './results.ts';

export interface Baseline {
  version: 1;
  savedAt: string;
  scenario: string;
  executor: RunResult['executor'];
  metrics: Record<string, MetricSummary>;
  series: Record<string, MetricSummary>;
  /** Whole-run histograms per trend metric (absent in baselines saved before they were kept). */
  histograms?: Record<string, string>;
}

export function toBaseline(result: RunResult): Baseline {
  return { version: 1, savedAt: result.endedAt, scenario: result.scenario, executor: result.executor, metrics: result.metrics, series: result.series, histograms: result.histograms };
}

export async function saveBaseline(path: string, result: RunResult): Promise<Baseline> {
  const baseline = toBaseline(result);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(baseline, null, 2)}\n`);
  return baseline;
}

export async function loadBaseline(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BadRequestError(`baseline ${path}: ${code === 'ENOENT' ? 'no such file; save one first with --save-baseline' : (error as Error).message}`);
  }
  let parsed: Partial<Baseline>;
  try {
    parsed = JSON.parse(text) as Partial<Baseline>;
  } catch {
    parsed = {};
  }
  if (parsed.version !== 1 || !parsed.metrics) throw new BadRequestError(`${path} is not a load-test baseline (version 1): save one with --save-baseline`);
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
  /** Two-sided z for the confidence intervals and tests (default Z_SIGNIFICANT). */
  z?: number;
}

/** 99.9% two-sided: a run compares dozens of figures, so each test is strict. */
export const Z_SIGNIFICANT = 3.29;
/** Samples a percentile needs beyond it (n·(1−p)) before its tail says anything. */
export const MIN_TAIL_SAMPLES = 5;
/** Samples a mean needs before its normal approximation holds for skewed latencies. */
export const MIN_MEAN_SAMPLES = 30;

export interface MetricDelta {
  metric: string;
  stat: string;
  baseline: number;
  current: number;
  /** (current − baseline) / baseline; ±Infinity when the baseline was 0. */
  change: number;
  tolerance: number;
  worseWhen: 'higher' | 'lower';
  /** Beyond the tolerance and significant (regressed / improved), within either (unchanged), or too few samples to judge. */
  verdict: 'regressed' | 'improved' | 'unchanged' | 'insufficient';
  /** Confidence that the two runs differ in this figure (1 − two-sided p of its test); 0 when not judged. */
  confidence: number;
}

export interface Comparison {
  passed: boolean;
  regressions: MetricDelta[];
  improvements: MetricDelta[];
  compared: MetricDelta[];
  /** Metrics in the baseline that this run did not produce. */
  missing: string[];
  /** Figures not judged: too few samples in one of the runs to say anything (`metric stat`). */
  insufficient: string[];
}

/** Rate metrics where higher is better (checks, names ending in _ok / _success); others count failures. */
export const defaultHigherIsBetter = (metric: string): boolean => metric === 'checks' || /(_ok|_success)$/.test(metric);

type Trend = Extract<MetricSummary, { kind: 'trend' }>;
type TrendStat = NonNullable<CompareOptions['trendStats']>[number];
const QUANTILE_OF: Record<Exclude<TrendStat, 'avg'>, number> = { med: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999, max: 1 };

/** The value at quantile q, interpolated between the percentiles a summary keeps. */
function quantileAt(t: Trend, q: number): number {
  const knots: Array<[number, number]> = [[0, t.min], [0.5, t.med], [0.9, t.p90], [0.95, t.p95], [0.99, t.p99], [0.999, t.p999], [1, t.max]];
  if (q <= 0) return t.min;
  for (let i = 1; i < knots.length; i++) {
    const [q1, v1] = knots[i]!;
    const [q0, v0] = knots[i - 1]!;
    if (q <= q1) return v0 + ((v1 - v0) * (q - q0)) / (q1 - q0);
  }
  return t.max;
}

/** Distribution-free confidence interval of quantile p from n samples (order statistics, normal approximation of the rank). */
function quantileInterval(t: Trend, p: number, z: number): [number, number] {
  const half = z * Math.sqrt((p * (1 - p)) / t.count);
  return [quantileAt(t, p - half), quantileAt(t, p + half)];
}

/** Standard deviation: exact from the histogram when kept, else estimated from the median–p90 spread. */
function spreadOf(t: Trend, encoded: string | undefined): number {
  if (encoded) return decodeHistogram(encoded).stdDeviation / US_PER_MS;
  return Math.max(t.p90 - t.med, 0) / 1.2816;
}

/**
 * How far apart the two runs are in a figure, as a standard-normal statistic (significant beyond the
 * run's z), or too few samples to judge.
 */
type Significance = number | 'insufficient';

/** A difference with standard error `se`: |Δ| / se (Infinity for a change without any spread). */
const zOf = (delta: number, se: number): number => (se === 0 ? (delta === 0 ? 0 : Infinity) : Math.abs(delta) / se);

function trendSignificance(stat: TrendStat, base: Trend, now: Trend, spreads: [number, number]): Significance {
  if (stat === 'avg') {
    if (Math.min(base.count, now.count) < MIN_MEAN_SAMPLES) return 'insufficient';
    return zOf(now.avg - base.avg, Math.sqrt(spreads[0] ** 2 / base.count + spreads[1] ** 2 / now.count));
  }
  const p = QUANTILE_OF[stat];
  if (Math.min(base.count, now.count) * (1 - p) < MIN_TAIL_SAMPLES || p === 1) return 'insufficient';
  // Two intervals that do not overlap differ at about √2 times their own z: each is built at z/√2. The
  // statistic is the largest z whose intervals still do not overlap (bisection: widths grow with z).
  const apart = (z: number) => {
    const [bLo, bHi] = quantileInterval(base, p, z / Math.SQRT2);
    const [cLo, cHi] = quantileInterval(now, p, z / Math.SQRT2);
    return cLo > bHi || cHi < bLo;
  };
  if (!apart(0)) return 0;
  let lo = 0;
  let hi = 8;
  if (apart(hi)) return hi;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (apart(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function proportionSignificance(b: { passes: number; fails: number }, c: { passes: number; fails: number }): Significance {
  const n1 = b.passes + b.fails;
  const n2 = c.passes + c.fails;
  if (n1 === 0 || n2 === 0) return 'insufficient';
  const pooled = (b.passes + c.passes) / (n1 + n2);
  return zOf(c.passes / n2 - b.passes / n1, Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)));
}

/** Poisson counts over their durations (count / rate). */
function throughputSignificance(b: { count: number; rate: number }, c: { count: number; rate: number }): Significance {
  if (b.count === 0 || c.count === 0 || b.rate === 0 || c.rate === 0) return 'insufficient';
  const t1 = b.count / b.rate;
  const t2 = c.count / c.rate;
  return zOf(c.rate - b.rate, Math.sqrt(b.count / t1 ** 2 + c.count / t2 ** 2));
}

/** 1 − two-sided p of a standard-normal statistic. */
const confidenceOf = (z: number): number => (Number.isFinite(z) ? 2 * cumulativeStdNormalProbability(z) - 1 : 1);

export function compareWithBaseline(current: Pick<RunResult, 'metrics' | 'series'> & Partial<Pick<RunResult, 'histograms'>>, baseline: Baseline, options: CompareOptions = {}): Comparison {
  const defaultTolerance = options.tolerance ?? 0.1;
  const trendStats = options.trendStats ?? ['p95', 'p99', 'avg'];
  const minTrendMs = options.minAbsoluteDelta?.trendMs ?? 1;
  const minRate = options.minAbsoluteDelta?.rate ?? 0.005;
  const higherIsBetter = options.higherIsBetter ?? defaultHigherIsBetter;
  const z = options.z ?? Z_SIGNIFICANT;
  const compared: MetricDelta[] = [];
  const regressions: MetricDelta[] = [];
  const improvements: MetricDelta[] = [];
  const missing: string[] = [];
  const insufficient: string[] = [];

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
    const stats: Array<{ stat: string; b: number; c: number; worseWhen: 'higher' | 'lower'; minDelta: number; significance: () => Significance }> = [];
    if (base.kind === 'trend' && now.kind === 'trend') {
      if (base.count === 0 || now.count === 0) continue;
      const spreads: [number, number] = [spreadOf(base, baseline.histograms?.[key]), spreadOf(now, current.histograms?.[key])];
      for (const stat of trendStats) {
        stats.push({ stat, b: base[stat], c: now[stat], worseWhen: 'higher', minDelta: minTrendMs, significance: () => trendSignificance(stat, base, now, spreads) });
      }
    } else if (base.kind === 'rate' && now.kind === 'rate') {
      stats.push({ stat: 'rate', b: base.rate, c: now.rate, worseWhen: higherIsBetter(metric) ? 'lower' : 'higher', minDelta: minRate, significance: () => proportionSignificance(base, now) });
    } else if (base.kind === 'counter' && now.kind === 'counter') {
      // Throughput: a counter's per-second rate falling is the regression (totals depend on duration).
      stats.push({ stat: 'rate', b: base.rate, c: now.rate, worseWhen: 'lower', minDelta: 0, significance: () => throughputSignificance(base, now) });
    }
    for (const { stat, b, c, worseWhen, minDelta, significance } of stats) {
      const tolerance = toleranceFor(key, metric, stat);
      const change = b === 0 ? (c === 0 ? 0 : Math.sign(c) * Infinity) : (c - b) / b;
      const judged = significance();
      const delta: MetricDelta = { metric: key, stat, baseline: b, current: c, change, tolerance, worseWhen, verdict: judged === 'insufficient' ? 'insufficient' : 'unchanged', confidence: judged === 'insufficient' ? 0 : confidenceOf(judged) };
      compared.push(delta);
      const worsening = worseWhen === 'higher' ? change : -change;
      if (Math.abs(c - b) < minDelta || Math.abs(worsening) <= tolerance) {
        if (judged === 'insufficient') delta.verdict = 'unchanged';
        continue;
      }
      if (judged === 'insufficient') insufficient.push(`${key} ${stat}`);
      if (judged === 'insufficient' || judged <= z) continue;
      delta.verdict = worsening > tolerance ? 'regressed' : 'improved';
      (worsening > tolerance ? regressions : improvements).push(delta);
    }
  }
  return { passed: regressions.length === 0, regressions, improvements, compared, missing, insufficient };
}
