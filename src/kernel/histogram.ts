/**
 * Latency histograms (HdrHistogram). Values are recorded as integer microseconds so sub-millisecond
 * latencies keep 3 significant digits; everything user-facing is milliseconds.
 * Per-second buckets use the packed representation: memory grows with the values actually seen
 * (a few KB), not with the trackable range, so hundreds of buckets per series stay cheap.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export type { Histogram };

export const US_PER_MS = 1000;

export function createHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true });
}

/**
 * Flat (32-bit counts) form for histograms written per request: a record costs ~50 ns against ~700 ns
 * for the packed form, for ~10-60 KB at 3 significant digits (~2-8 KB at 2).
 */
export function createFlatHistogram(digits: 2 | 3 = 3): Histogram {
  return hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: digits, lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true });
}

export function recordMs(histogram: Histogram, ms: number): void {
  // Zero would fall below lowestDiscernibleValue's meaning; clamp to 1 µs. Negative values are caller bugs.
  histogram.recordValue(Math.max(1, Math.round(ms * US_PER_MS)));
}

/** Compact, exact wire form (HdrHistogram's standard compressed base64), used between worker threads and in results. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  const histogram = hdr.decodeFromCompressedBase64(encoded, 'packed', false);
  // Decoding sizes the histogram to the values it holds; later merges may bring larger ones.
  histogram.autoResize = true;
  return histogram;
}

/** Exact merge: counts add bucket by bucket, so percentiles of the merge equal those of one histogram fed everything. */
export function mergeHistograms(histograms: Iterable<Histogram>): Histogram {
  const merged = createHistogram();
  for (const h of histograms) merged.add(h);
  return merged;
}

export interface LatencyStats {
  count: number;
  min: number;
  max: number;
  avg: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export function percentileMs(histogram: Histogram, p: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(p) / US_PER_MS;
}

/**
 * The histogram's mean, as its `mean` computes it (each count at its bucket's median-equivalent value), in one
 * pass over the counts: `mean` walks an iterator object per index, ~10 ms for one histogram of a short load
 * test, two thirds of a load test's end-of-run summaries in a CPU profile of bench:loadgen.
 */
export function meanOf(histogram: Histogram): number {
  if (!(histogram instanceof hdr.JsHistogram)) return histogram.mean;
  const total = histogram.totalCount;
  if (total === 0) return 0;
  const last = Math.min(histogram.countsArrayLength - 1, histogram.countsArrayIndex(histogram.maxValue));
  let sum = 0;
  for (let i = 0; i <= last; i++) {
    const count = histogram.getCountAtIndex(i);
    if (count > 0) sum += histogram.medianEquivalentValue(histogram.valueFromIndex(i)) * count;
  }
  return sum / total;
}

export function latencyStats(histogram: Histogram | undefined): LatencyStats {
  if (!histogram || histogram.totalCount === 0) return { count: 0, min: 0, max: 0, avg: 0, med: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
  return {
    count: histogram.totalCount,
    min: histogram.minNonZeroValue / US_PER_MS,
    max: histogram.maxValue / US_PER_MS,
    avg: meanOf(histogram) / US_PER_MS,
    med: percentileMs(histogram, 50),
    p90: percentileMs(histogram, 90),
    p95: percentileMs(histogram, 95),
    p99: percentileMs(histogram, 99),
    p999: percentileMs(histogram, 99.9),
  };
}
