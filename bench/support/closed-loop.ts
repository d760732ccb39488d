/** A closed-loop load: N loops each awaiting one operation after another, a warm-up, then a measured window. */
import { createHistogram, recordMs, type Histogram } from '../../src/kernel/histogram.ts';

export type Outcome = 'ok' | 'rejected' | 'failed';

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  sample?: () => number;
}

export interface Run {
  ok: number;
  rejected: number;
  failed: number;
  /** Latencies of `ok` operations inside the measured window. */
  latency: Histogram;
  seconds: number;
  /** How much `sample` grew over the measured window (e.g. a server's CPU seconds), when given. */
  sampled?: number;
}

/**
 * Runs `op` from `concurrency` loops: `warmupMs` unrecorded, then `measureMs` of recorded outcomes;
 * `sample` is read when the measured window opens and when it closes (`Run.sampled` is the growth).
 */
export async function drive(options: LoadOptions, op: (worker: number, i: number) => Promise<Outcome>): Promise<Run> {
  const run: Run = { ok: 0, rejected: 0, failed: 0, latency: createHistogram(), seconds: options.measureMs / 1000 };
  const measureFrom = performance.now() + options.warmupMs;
  const end = measureFrom + options.measureMs;
  const { sample } = options;
  let first = 0;
  const opened = sample && setTimeout(() => (first = sample()), options.warmupMs);
  const closed = sample && setTimeout(() => (run.sampled = sample() - first), options.warmupMs + options.measureMs);
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      for (let i = 0; ; i++) {
        const t0 = performance.now();
        if (t0 >= end) return;
        const outcome = await op(worker, i);
        const t1 = performance.now();
        if (t0 < measureFrom || t1 > end) continue;
        run[outcome]++;
        if (outcome === 'ok') recordMs(run.latency, t1 - t0);
      }
    }),
  );
  // Every loop outlives the window, so both samples were taken; the timers are cleared for runs cut short.
  clearTimeout(opened);
  clearTimeout(closed);
  return run;
}

/** One row of a results table. */
export function summary(name: string, run: Run): Record<string, string | number> {
  const p = (q: number) => (run.latency.getValueAtPercentile(q) / 1000).toFixed(2);
  return { name, 'per second': Math.round(run.ok / run.seconds), p50: p(50), p95: p(95), p99: p(99), 'max ms': (run.latency.maxValue / 1000).toFixed(1), rejected: run.rejected, errors: run.failed };
}

/** The figures of a run for bench/results/*.json. */
export function figures(run: Run): Record<string, number> {
  return {
    perSecond: Math.round(run.ok / run.seconds),
    p50Ms: run.latency.getValueAtPercentile(50) / 1000,
    p95Ms: run.latency.getValueAtPercentile(95) / 1000,
    p99Ms: run.latency.getValueAtPercentile(99) / 1000,
    maxMs: run.latency.maxValue / 1000,
    rejected: run.rejected,
    errors: run.failed,
  };
}
