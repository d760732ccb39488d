/**
 * Intervals of a run judged on their own: a fault and the recovery after it (the chaos runner), a
 * warm-up, a phase of a ramp. Each is a span of whole seconds since the run's start with its own
 * thresholds, in the same syntax as the run's, evaluated over that span only; the result keeps the
 * span's request count, failure rate and latency percentiles, and the report shades it on the plots.
 */
import { latencyStats } from '../kernel/histogram.ts';
import { aggregate } from './metrics.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { ThresholdInput } from './scenario.ts';
import { evaluateThresholds, parseThresholds } from './thresholds.ts';
import type { ThresholdResult } from './thresholds.ts';

export interface IntervalSpec {
  label: string;
  /** `fault` intervals are shaded red on the report's plots, the others (recovery, phases) grey. */
  kind: 'fault' | 'recovery' | 'phase';
  /** Seconds since the run's start, inclusive, from ≤ to. */
  fromS: number;
  toS: number;
  thresholds?: ThresholdInput;
  /** What happened, for the report (e.g. "kill -9 i2 (pid 1234); back in 6.1 s"). */
  detail?: string;
}

export interface IntervalSummary extends Omit<IntervalSpec, 'thresholds'> {
  requests: number;
  failed: number;
  failedRate: number;
  p95: number;
  p99: number;
  thresholds: ThresholdResult[];
  passed: boolean;
}

/** Parses every interval's thresholds (bad syntax is the caller's mistake, known before the run ends). */
export function checkIntervals(specs: readonly IntervalSpec[]): void {
  for (const spec of specs) parseThresholds(spec.thresholds);
}

export function summarizeIntervals(specs: readonly IntervalSpec[], registry: MetricsRegistry): IntervalSummary[] {
  const durations = registry.select('http_req_duration');
  const failed = registry.select('http_req_failed');
  return specs.map(({ thresholds, ...spec }) => {
    const fromS = Math.max(0, Math.floor(spec.fromS));
    const toS = Math.max(fromS, Math.ceil(spec.toS));
    const latency = latencyStats(aggregate(durations, fromS, toS)?.histogram);
    const f = aggregate(failed, fromS, toS);
    const results = evaluateThresholds(parseThresholds(thresholds), registry, { runSeconds: toS - fromS + 1, firstSecond: fromS, lastCompleteSecond: toS });
    return {
      ...spec,
      fromS,
      toS,
      requests: latency.count,
      failed: f?.pass ?? 0,
      failedRate: f && f.total > 0 ? f.pass / f.total : 0,
      p95: latency.p95,
      p99: latency.p99,
      thresholds: results,
      passed: results.every((r) => r.passed),
    };
  });
}
