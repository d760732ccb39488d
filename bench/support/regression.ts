/**
 * Regression detection between two benchmark runs, with a noise model built from their rounds.
 *
 * Every comparable figure is measured in several rounds (each a ratio to a reference measured in the
 * same round where the bench has one, so a slower machine moves both). Two runs' rounds are compared
 * with a Mann–Whitney rank test (exact for the small round counts benches use, no normality assumed)
 * and the size of the change is the ratio of their medians, on a log scale so "2× slower" and "2×
 * faster" are the same distance. The noise band is the robust spread of one round around its run's
 * median (median absolute deviation × 1.4826, pooled over both runs).
 * - improved / regressed: significant (p < ALPHA) and larger than SIGNIFICANT_BANDS noise bands and
 *   MIN_CHANGE (runs at different times drift more than rounds inside one run, so significance alone
 *   is not enough);
 * - unchanged: anything else (reported with its size and confidence all the same);
 * - a gate failure (CI): regressed by more than GATE_BANDS noise bands and at least GATE_MIN_FACTOR,
 *   so a noisy shared machine never blocks a landing while a real 2× slowdown does.
 */
import { cumulativeStdNormalProbability } from 'simple-statistics';

export type Better = 'higher' | 'lower';

/** One figure of one bench, in rounds. */
export interface RoundsMetric {
  bench: string;
  name: string;
  unit: string;
  better: Better;
  rounds: number[];
}

export type Verdict = 'improved' | 'unchanged' | 'regressed' | 'not comparable';

export interface MetricComparison {
  bench: string;
  name: string;
  unit: string;
  better: Better;
  baseline: number;
  current: number;
  /** current median ÷ baseline median − 1. */
  change: number;
  /** How many times worse (> 1) or better (< 1) the current run is, whichever way is better. */
  worseFactor: number;
  /** One noise band, as a factor (1.08 = ±8% per round). */
  noiseFactor: number;
  /** Two-sided p-value of the rank test, and 1 − p. */
  pValue: number;
  confidence: number;
  verdict: Verdict;
  /** A regression far outside the noise band: fails the CI gate. */
  gateFailure: boolean;
  note: string;
}

export const ALPHA = 0.01;
export const SIGNIFICANT_BANDS = 2;
/** Changes below this are never improvements or regressions (5%). */
export const MIN_CHANGE = 0.05;
export const GATE_BANDS = 4;
export const GATE_MIN_FACTOR = 1.8;
/** Fewer rounds than this on either side: too few to rank (5 against 5 can reach p = 0.008 < ALPHA). */
export const MIN_ROUNDS = 5;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Robust standard deviation of log values around each run's own median (MAD × 1.4826), pooled. */
export function noiseSigma(...runs: ReadonlyArray<readonly number[]>): number {
  const deviations = runs.flatMap((rounds) => {
    const logs = rounds.map(Math.log);
    const m = median(logs);
    return logs.map((v) => Math.abs(v - m));
  });
  return deviations.length === 0 ? 0 : 1.4826 * median(deviations);
}

/**
 * Mann–Whitney U of x against y (pairs where x > y, ties half) and its two-sided p-value: exact from the
 * U distribution when there are no ties, else the normal approximation with the tie correction.
 */
export function rankTest(x: readonly number[], y: readonly number[]): { u: number; pValue: number } {
  const n1 = x.length;
  const n2 = y.length;
  let u = 0;
  let tied = false;
  for (const a of x) {
    for (const b of y) {
      if (a > b) u += 1;
      else if (a === b) {
        u += 0.5;
        tied = true;
      }
    }
  }
  const tail = Math.min(u, n1 * n2 - u);
  if (!tied && n1 * n2 <= 2_500) return { u, pValue: Math.min(1, 2 * exactLowerTail(n1, n2, tail)) };
  const all = [...x, ...y].sort((a, b) => a - b);
  let ties = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j] === all[i]) j++;
    const t = j - i;
    ties += t ** 3 - t;
    i = j;
  }
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance <= 0) return { u, pValue: 1 };
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / Math.sqrt(variance);
  return { u, pValue: Math.min(1, 2 * (1 - cumulativeStdNormalProbability(Math.max(0, z)))) };
}

/** P(U ≤ k) under the null: counts of arrangements by U (the classic recurrence over the last element). */
function exactLowerTail(n1: number, n2: number, k: number): number {
  // ways[m][u] for m of x's elements against n of y's, built up one y element at a time.
  let ways: number[][] = Array.from({ length: n1 + 1 }, () => [1]);
  for (let n = 1; n <= n2; n++) {
    const next: number[][] = [[1]];
    for (let m = 1; m <= n1; m++) {
      const size = m * n + 1;
      const row = new Array<number>(size).fill(0);
      // Largest element from x (adds n to U) or from y (adds nothing).
      const withX = next[m - 1]!;
      const withY = ways[m]!;
      for (let v = 0; v < size; v++) row[v] = (v - n >= 0 ? (withX[v - n] ?? 0) : 0) + (withY[v] ?? 0);
      next.push(row);
    }
    ways = next;
  }
  const dist = ways[n1]!;
  const total = dist.reduce((s, c) => s + c, 0);
  let below = 0;
  for (let v = 0; v <= Math.floor(k) && v < dist.length; v++) below += dist[v]!;
  return below / total;
}

export function compareRounds(baseline: RoundsMetric, current: RoundsMetric): MetricComparison {
  const b = median(baseline.rounds);
  const c = median(current.rounds);
  const worseFactor = baseline.better === 'higher' ? b / c : c / b;
  const sigma = noiseSigma(baseline.rounds, current.rounds);
  const noiseFactor = Math.exp(sigma);
  const base = { bench: current.bench, name: current.name, unit: current.unit, better: current.better, baseline: b, current: c, change: c / b - 1, worseFactor, noiseFactor };
  const valid = [...baseline.rounds, ...current.rounds].every((v) => Number.isFinite(v) && v > 0);
  if (!valid || Math.min(baseline.rounds.length, current.rounds.length) < MIN_ROUNDS) {
    const why = valid ? `too few rounds (${baseline.rounds.length} and ${current.rounds.length}; ${MIN_ROUNDS} needed)` : 'a round is zero or missing';
    return { ...base, pValue: 1, confidence: 0, verdict: 'not comparable', gateFailure: false, note: why };
  }
  const { pValue } = rankTest(current.rounds, baseline.rounds);
  const size = Math.abs(Math.log(worseFactor));
  const significant = pValue < ALPHA && size > Math.max(SIGNIFICANT_BANDS * sigma, Math.log(1 + MIN_CHANGE));
  const verdict: Verdict = !significant ? 'unchanged' : worseFactor > 1 ? 'regressed' : 'improved';
  const gateFailure = verdict === 'regressed' && size > GATE_BANDS * sigma && worseFactor >= GATE_MIN_FACTOR;
  const pct = `${c >= b ? '+' : ''}${((c / b - 1) * 100).toFixed(1)}%`;
  const note = `${pct} (median ${fmt(b)} → ${fmt(c)} ${current.unit}), noise ±${((noiseFactor - 1) * 100).toFixed(1)}% per round, p = ${pValue.toPrecision(2)}`;
  return { ...base, pValue, confidence: 1 - pValue, verdict, gateFailure, note };
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

/** Compares every metric both runs have; metrics only in the baseline are listed as missing. */
export function compareRuns(baseline: readonly RoundsMetric[], current: readonly RoundsMetric[]): { comparisons: MetricComparison[]; missing: string[]; gateFailed: boolean } {
  const key = (m: RoundsMetric) => `${m.bench} ${m.name}`;
  const now = new Map(current.map((m) => [key(m), m]));
  const comparisons: MetricComparison[] = [];
  const missing: string[] = [];
  for (const m of baseline) {
    const c = now.get(key(m));
    if (c) comparisons.push(compareRounds(m, c));
    else missing.push(key(m));
  }
  return { comparisons, missing, gateFailed: comparisons.some((c) => c.gateFailure) };
}
