/**
 * The two tests the canary analysis uses, both one-sided ("is the canary worse?"):
 *  - Mann-Whitney U on ordered bins (a latency histogram's buckets, or raw values each in its own bin),
 *    with midranks for ties and the tie-corrected normal approximation, as Kayenta's judge uses it;
 *    it also gives the probability of superiority P(canary > stable) + ½P(tie) as the effect size;
 *  - Fisher's exact test on two proportions (error rate, order rejections, tail exceedances), exact
 *    even with zero or few events, where a normal approximation is wrong.
 * simple-statistics provides the normal CDF (through its error function) and log-gamma.
 */
import { errorFunction, gammaln } from 'simple-statistics';

export interface MannWhitneyResult {
  /** U of the first sample: pairs where it is greater, plus half the ties. */
  u: number;
  /** P(first > second) + ½P(tie): 0.5 when the two are alike, 1 when every first value is larger. */
  superiority: number;
  /** One-sided p-value for "the first sample is stochastically greater". */
  p: number;
  n1: number;
  n2: number;
}

/** Standard normal upper tail. */
function upperTail(z: number): number {
  return 0.5 * (1 - errorFunction(z / Math.SQRT2));
}

/**
 * Mann-Whitney U of `first` against `second`, given as counts per ordered bin (same bins, same order).
 * With n1 or n2 zero there is nothing to compare: p 1, superiority 0.5.
 */
export function mannWhitneyBinned(first: readonly number[], second: readonly number[]): MannWhitneyResult {
  if (first.length !== second.length) throw new Error('both samples need the same bins');
  const n1 = first.reduce((a, b) => a + b, 0);
  const n2 = second.reduce((a, b) => a + b, 0);
  if (n1 === 0 || n2 === 0) return { u: 0, superiority: 0.5, p: 1, n1, n2 };
  const n = n1 + n2;
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let k = 0; k < first.length; k++) {
    const t = first[k]! + second[k]!;
    if (t === 0) continue;
    // Every value in the bin takes the bin's midrank.
    rankSum += first[k]! * (below + (t + 1) / 2);
    ties += t * t * t - t;
    below += t;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  // Every value tied: no evidence either way.
  const p = variance <= 0 ? 1 : upperTail((u - mean - 0.5) / Math.sqrt(variance));
  return { u, superiority: u / (n1 * n2), p: Math.min(1, Math.max(0, p)), n1, n2 };
}

/** Mann-Whitney U on raw values (each distinct value is its own bin). */
export function mannWhitney(first: readonly number[], second: readonly number[]): MannWhitneyResult {
  const values = [...new Set([...first, ...second])].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i]));
  const bins = (sample: readonly number[]) => {
    const counts = new Array<number>(values.length).fill(0);
    for (const v of sample) counts[index.get(v)!]!++;
    return counts;
  };
  return mannWhitneyBinned(bins(first), bins(second));
}

function logChoose(n: number, k: number): number {
  return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1);
}

/**
 * Fisher's exact test, one-sided: the probability of at least `events1` events in the first group of
 * `n1` if the `events1 + events2` events fell at random over all `n1 + n2` trials (hypergeometric).
 * Small p: the first group has a higher rate than chance allows.
 */
export function fisherGreater(events1: number, n1: number, events2: number, n2: number): number {
  const total = n1 + n2;
  const events = events1 + events2;
  if (n1 === 0 || n2 === 0 || events === 0) return 1;
  const denominator = logChoose(total, n1);
  let p = 0;
  for (let x = events1; x <= Math.min(n1, events); x++) {
    if (n1 - x > total - events) continue;
    p += Math.exp(logChoose(events, x) + logChoose(total - events, n1 - x) - denominator);
  }
  return Math.min(1, p);
}
