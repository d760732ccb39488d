/**
 * Per-type queue metrics: counters plus HDR histograms of wait and execution time (recorded in
 * microseconds, reported in ms), so percentiles stay exact to 3 digits at constant memory.
 */
import * as hdr from 'hdr-histogram-js';
import type { Percentiles, TypeStats } from './port.ts';

interface TypeMetrics {
  completed: number;
  failed: number;
  cancelled: number;
  retried: number;
  wait: hdr.Histogram;
  execution: hdr.Histogram;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function percentiles(h: hdr.Histogram): Percentiles {
  const ms = (us: number) => us / 1000;
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

export class QueueMetrics {
  private readonly types = new Map<string, TypeMetrics>();

  private of(type: string): TypeMetrics {
    let m = this.types.get(type);
    if (!m) this.types.set(type, (m = { completed: 0, failed: 0, cancelled: 0, retried: 0, wait: histogram(), execution: histogram() }));
    return m;
  }

  started(type: string, waitMs: number): void {
    this.of(type).wait.recordValue(Math.max(1, Math.round(waitMs * 1000)));
  }

  executed(type: string, executionMs: number): void {
    this.of(type).execution.recordValue(Math.max(1, Math.round(executionMs * 1000)));
  }

  count(type: string, outcome: 'completed' | 'failed' | 'cancelled' | 'retried'): void {
    this.of(type)[outcome]++;
  }

  /** Per-type stats; `live` supplies the current queued/running counts the adapter knows. */
  snapshot(live: (type: string) => { queued: number; running: number }, extraTypes: Iterable<string> = []): Record<string, TypeStats> {
    const out: Record<string, TypeStats> = {};
    for (const type of new Set([...this.types.keys(), ...extraTypes])) {
      const m = this.of(type);
      out[type] = {
        ...live(type),
        completed: m.completed,
        failed: m.failed,
        cancelled: m.cancelled,
        retried: m.retried,
        waitMs: percentiles(m.wait),
        executionMs: percentiles(m.execution),
      };
    }
    return out;
  }

  completionRate(): number | null {
    let completed = 0;
    let failed = 0;
    for (const m of this.types.values()) {
      completed += m.completed;
      failed += m.failed;
    }
    return completed + failed > 0 ? completed / (completed + failed) : null;
  }
}
