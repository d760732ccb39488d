/**
 * Latency of a flag's two cohorts compared: percentiles of each (merged HDR histograms, exact), and a
 * Mann–Whitney U test over every recorded request (ranks from the histograms' buckets, ties averaged
 * and corrected), normal approximation with simple-statistics' standard normal CDF. Rank-based: no
 * assumption that latency is normal (it never is), and a few slow outliers cannot decide it alone.
 * simple-statistics' CDF is a table ending at |z| = 3.09, so a p-value is never reported below 0.002.
 */
import type { JsHistogram } from 'hdr-histogram-js';
import { cumulativeStdNormalProbability } from 'simple-statistics';
import { latencyStats, type Histogram } from '../kernel/histogram.ts';

export interface CohortLatency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export type Verdict = 'faster' | 'slower' | 'no significant difference' | 'insufficient data';

export interface CohortComparison {
  /** Requests of accounts the flag was on for, and of the rest (milliseconds). */
  on: CohortLatency;
  off: CohortLatency;
  /** on ÷ off: below 1, the flag's cohort is faster. */
  ratio: { p50: number; p95: number; p99: number };
  test: { name: 'Mann-Whitney U'; u: number; z: number; pValue: number; alpha: number; probabilityOnFaster: number };
  /** The flag's cohort against the rest. */
  verdict: Verdict;
  summary: string;
}

/** Fewer requests than this in either cohort: no verdict (the normal approximation needs some). */
export const MIN_COHORT_REQUESTS = 20;

export function compareCohorts(on: Histogram, off: Histogram, alpha = 0.05): CohortComparison {
  const a = cohort(on);
  const b = cohort(off);
  const ratio = { p50: divide(a.p50, b.p50), p95: divide(a.p95, b.p95), p99: divide(a.p99, b.p99) };
  const test = mannWhitney(on, off, alpha);
  const verdict: Verdict =
    a.count < MIN_COHORT_REQUESTS || b.count < MIN_COHORT_REQUESTS ? 'insufficient data' : test.pValue >= alpha ? 'no significant difference' : test.z < 0 ? 'faster' : 'slower';
  const share = `${(test.probabilityOnFaster * 100).toFixed(1)}% of (on, off) request pairs have the on request faster`;
  const summary =
    verdict === 'insufficient data'
      ? `insufficient data: ${a.count} requests on, ${b.count} off (at least ${MIN_COHORT_REQUESTS} each are needed)`
      : `${verdict === 'no significant difference' ? 'no significant difference' : `the flag's cohort is ${verdict}`} (p = ${test.pValue.toPrecision(3)}, α = ${alpha}): p50 ${a.p50.toFixed(2)} vs ${b.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} vs ${b.p99.toFixed(2)} ms; ${share}`;
  return { on: a, off: b, ratio, test, verdict, summary };
}

function cohort(histogram: Histogram): CohortLatency {
  const s = latencyStats(histogram);
  return { count: s.count, p50: s.med, p95: s.p95, p99: s.p99, mean: s.avg };
}

const divide = (x: number, y: number) => (y === 0 ? 0 : x / y);

/** U of the first sample, from both histograms' recorded buckets (equal buckets are ties). */
export function mannWhitney(x: Histogram, y: Histogram, alpha = 0.05): CohortComparison['test'] {
  const counts = new Map<number, [number, number]>();
  for (const [index, histogram] of [x, y].entries()) {
    const iterator = (histogram as unknown as JsHistogram).recordedValuesIterator;
    iterator.reset();
    while (iterator.hasNext()) {
      const { valueIteratedTo, countAtValueIteratedTo } = iterator.next();
      const pair = counts.get(valueIteratedTo) ?? [0, 0];
      pair[index as 0 | 1] += countAtValueIteratedTo;
      counts.set(valueIteratedTo, pair);
    }
  }
  const n1 = x.totalCount;
  const n2 = y.totalCount;
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return { name: 'Mann-Whitney U', u: 0, z: 0, pValue: 1, alpha, probabilityOnFaster: 0.5 };
  let rank = 0;
  let rankSumX = 0;
  let ties = 0;
  for (const value of [...counts.keys()].sort((p, q) => p - q)) {
    const [cx, cy] = counts.get(value)!;
    const t = cx + cy;
    rankSumX += cx * (rank + (t + 1) / 2);
    ties += t * t * t - t;
    rank += t;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const z = variance > 0 ? (u - (n1 * n2) / 2) / Math.sqrt(variance) : 0;
  const pValue = Math.min(1, 2 * (1 - cumulativeStdNormalProbability(Math.abs(z))));
  // U counts pairs where x is slower (ties half): the rest is the chance an x request is faster.
  return { name: 'Mann-Whitney U', u, z, pValue, alpha, probabilityOnFaster: 1 - u / (n1 * n2) };
}
