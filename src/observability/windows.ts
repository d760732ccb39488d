/**
 * Sliding windows over recent traffic, driven by the injectable Clock so tests move time by hand.
 * Time is cut into fixed slots kept in a ring and merged on read: recording is one histogram write
 * (or one counter increment), reading merges only the slots that started inside the window (so a
 * window covers its length minus at most one slot).
 * - LatencyWindow: 10 s slots of HDR histograms over 15 minutes (p50/p95/p99/max, rates).
 * - SloCounts: 1 min slots of plain counts over 6 hours, the longest window a burn-rate alert reads.
 */
import type { Clock } from '../kernel/clock.ts';
import type { JsHistogram } from 'hdr-histogram-js';
import { createFlatHistogram, mergeHistograms, percentileMs, recordMs, type Histogram } from '../kernel/histogram.ts';

export const MINUTE_MS = 60_000;
export const WINDOWS = { '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '15m': 15 * MINUTE_MS } as const;
export type WindowName = keyof typeof WINDOWS;

export const LATENCY_SLOT_MS = 10_000;
const LATENCY_SLOTS = WINDOWS['15m'] / LATENCY_SLOT_MS + 1;

export interface WindowStats {
  count: number;
  errors: number;
  /** Requests per second over the window (or since the window's first record, if shorter). */
  ratePerSecond: number;
  errorRatio: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface LatencySlot {
  start: number;
  histogram: Histogram;
  errors: number;
}

/**
 * Slots are flat HDR histograms (createFlatHistogram: they are written twice per HTTP request). Windows
 * kept per route use 2 significant digits (1% precision) to bound their memory.
 */
const slotHistogram = createFlatHistogram;

export class LatencyWindow {
  private readonly slots: (LatencySlot | undefined)[] = new Array(LATENCY_SLOTS);
  private readonly since: number;

  constructor(
    private readonly clock: Clock,
    private readonly digits: 2 | 3 = 3,
  ) {
    this.since = clock.now();
  }

  /** `now` lets a caller recording into several windows read the clock once. */
  record(ms: number, error = false, now = this.clock.now()): void {
    const start = now - (now % LATENCY_SLOT_MS);
    const index = (start / LATENCY_SLOT_MS) % LATENCY_SLOTS;
    let slot = this.slots[index];
    if (!slot) slot = this.slots[index] = { start, histogram: slotHistogram(this.digits), errors: 0 };
    else if (slot.start !== start) {
      // The slot is a lap old: reuse its histogram rather than allocate one every 10 s.
      slot.start = start;
      slot.histogram.reset();
      slot.errors = 0;
    }
    recordMs(slot.histogram, ms);
    if (error) slot.errors++;
  }

  stats(windowMs: number): WindowStats {
    const now = this.clock.now();
    const inWindow = this.slots.filter((s): s is LatencySlot => s !== undefined && s.start > now - windowMs && s.start <= now);
    const merged = mergeHistograms(inWindow.map((s) => s.histogram));
    const count = merged.totalCount;
    const errors = inWindow.reduce((sum, s) => sum + s.errors, 0);
    const seconds = Math.max(1, Math.min(windowMs, now - this.since)) / 1000;
    return {
      count,
      errors,
      ratePerSecond: count / seconds,
      errorRatio: count === 0 ? 0 : errors / count,
      p50: percentileMs(merged, 50),
      p95: percentileMs(merged, 95),
      p99: percentileMs(merged, 99),
      max: count === 0 ? 0 : merged.maxValue / 1000,
    };
  }

  all(): Record<WindowName, WindowStats> {
    return { '1m': this.stats(WINDOWS['1m']), '5m': this.stats(WINDOWS['5m']), '15m': this.stats(WINDOWS['15m']) };
  }

  /**
   * A latency heat map: per slot of the last 15 minutes that started at or after `from`, oldest first,
   * how many records fell in each bucket (`counts[i]` ≤ `boundsMs[i]`, the last one above them all).
   * Read by walking each slot's recorded values, so recording stays one histogram write.
   */
  heatmap(boundsMs: readonly number[], from = -Infinity): HeatmapColumn[] {
    const now = this.clock.now();
    const bounds = boundsMs.map((b) => b * 1000); // histograms hold microseconds
    return this.slots
      .filter((s): s is LatencySlot => s !== undefined && s.start >= from && s.start > now - WINDOWS['15m'] && s.start <= now)
      .sort((a, b) => a.start - b.start)
      .map((slot) => {
        const counts = new Array<number>(bounds.length + 1).fill(0);
        const values = (slot.histogram as JsHistogram).recordedValuesIterator;
        values.reset();
        let bucket = 0;
        while (values.hasNext()) {
          const step = values.next();
          while (bucket < bounds.length && step.valueIteratedTo > bounds[bucket]!) bucket++;
          counts[bucket]! += step.countAtValueIteratedTo;
        }
        return { start: slot.start, counts };
      });
  }
}

export interface HeatmapColumn {
  /** Slot start, epoch ms; slots last LATENCY_SLOT_MS. */
  start: number;
  counts: number[];
}

const SLO_SLOTS = 6 * 60 + 1;

/** Good/bad event counts for SLO burn rates: errors (5xx) and slow responses, per minute. */
export class SloCounts {
  private readonly starts = new Float64Array(SLO_SLOTS).fill(-1);
  private readonly totals = new Uint32Array(SLO_SLOTS);
  private readonly errors = new Uint32Array(SLO_SLOTS);
  private readonly slow = new Uint32Array(SLO_SLOTS);

  constructor(private readonly clock: Clock) {}

  record(error: boolean, slow: boolean, now = this.clock.now()): void {
    const start = now - (now % MINUTE_MS);
    const i = (start / MINUTE_MS) % SLO_SLOTS;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.totals[i] = this.errors[i] = this.slow[i] = 0;
    }
    this.totals[i]!++;
    if (error) this.errors[i]!++;
    if (slow) this.slow[i]!++;
  }

  /** Bad-event ratios over the window; 0 without traffic (no traffic burns no budget). */
  ratios(windowMs: number): { total: number; errorRatio: number; slowRatio: number } {
    const now = this.clock.now();
    let total = 0;
    let errors = 0;
    let slow = 0;
    for (let i = 0; i < SLO_SLOTS; i++) {
      const start = this.starts[i]!;
      if (start <= now - windowMs || start > now) continue;
      total += this.totals[i]!;
      errors += this.errors[i]!;
      slow += this.slow[i]!;
    }
    return { total, errorRatio: total ? errors / total : 0, slowRatio: total ? slow / total : 0 };
  }
}
