/**
 * Memory and leak detection. Heap used is sampled right after each major GC (what survives a full
 * collection is what the program keeps), with RSS, external and array buffers beside it. A least-squares
 * trend over a window says whether the post-GC heap grows steadily; a steady growth for the whole
 * window raises a leak suspicion, and the watch then takes a pair of heap snapshots some seconds apart
 * and diffs them by constructor, so the report names what grows. GC pauses are kept per kind.
 */
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { writeHeapSnapshot } from './inspector.ts';
import { diffConstructors, ownedSizesByConstructor, type ConstructorGrowth, type HeapSnapshot } from './summaries.ts';

export interface LeakWatchConfig {
  /** The period over which the post-GC heap must grow steadily before a leak is suspected. */
  windowMs: number;
  /** Post-GC samples needed in the window before any verdict. */
  minSamples: number;
  /** Growth below this rate is not a leak (caches filling, JIT). */
  minGrowthBytesPerMinute: number;
  /** How straight the growth must be (coefficient of determination of the linear fit). */
  minR2: number;
  /** Take the diagnostic snapshot pair when a leak is suspected (pauses the process twice). */
  snapshots: boolean;
  /** Time between the two snapshots of a pair. */
  snapshotGapMs: number;
  /** At most one snapshot pair per this period. */
  snapshotCooldownMs: number;
  maxSnapshotBytes: number;
  /** Where the snapshot pair is written while it is diffed (deleted after). */
  dir: string;
}

export interface MemorySample {
  at: number;
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

export interface Trend {
  samples: number;
  spanMs: number;
  bytesPerMinute: number;
  r2: number;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const PAUSES_KEPT = 1024;

/** Least-squares slope of heap used against time, and how well a line explains the samples. */
export function heapTrend(samples: readonly MemorySample[]): Trend {
  const n = samples.length;
  const spanMs = n > 1 ? samples[n - 1]!.at - samples[0]!.at : 0;
  if (n < 2 || spanMs === 0) return { samples: n, spanMs, bytesPerMinute: 0, r2: 0 };
  const t0 = samples[0]!.at;
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (const s of samples) {
    const x = (s.at - t0) / 60_000;
    const y = s.heapUsed;
    sx += x; sy += y; sxx += x * x; sxy += x * y; syy += y * y;
  }
  const cov = sxy - (sx * sy) / n;
  const varX = sxx - (sx * sx) / n;
  const varY = syy - (sy * sy) / n;
  const slope = varX > 0 ? cov / varX : 0;
  const r2 = varX > 0 && varY > 0 ? (cov * cov) / (varX * varY) : 0;
  return { samples: n, spanMs, bytesPerMinute: slope, r2 };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface LeakReport {
  at: string;
  trend: Trend;
  /** Growth of owned size by constructor between the snapshot pair; null when snapshots are off or failed. */
  growth: ConstructorGrowth[] | null;
  error: string | null;
}

export class MemoryWatch {
  private readonly samples: MemorySample[] = [];
  private readonly pauses = new Map<string, { count: number; totalMs: number; recent: number[] }>();
  private observer: PerformanceObserver | undefined;
  private suspectedSince: number | undefined;
  private lastSnapshotAt = -Infinity;
  private diagnosing: Promise<unknown> | undefined;
  private lastReport: LeakReport | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly config: LeakWatchConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.onGc(entry);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  async stop(): Promise<void> {
    this.observer?.disconnect();
    // A diagnosis waiting between its two snapshots ends now instead of holding the shutdown.
    this.stopping.abort();
    await this.diagnosing;
  }

  private onGc(entry: PerformanceEntry): void {
    // Node 20 types lack `detail` on PerformanceEntry; GC entries carry { kind } there.
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    const stats = this.pauses.get(kind) ?? { count: 0, totalMs: 0, recent: [] };
    stats.count++;
    stats.totalMs += entry.duration;
    stats.recent.push(entry.duration);
    if (stats.recent.length > PAUSES_KEPT) stats.recent.shift();
    this.pauses.set(kind, stats);
    if (kind === 'major') this.sample();
  }

  /** Records the heap as it stands after a full collection and re-evaluates the trend. */
  sample(): void {
    const usage = process.memoryUsage();
    const at = this.now();
    this.samples.push({ at, heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external, arrayBuffers: usage.arrayBuffers });
    while (this.samples.length > 0 && this.samples[0]!.at < at - this.config.windowMs) this.samples.shift();
    this.evaluate(at);
  }

  trend(): Trend {
    return heapTrend(this.samples);
  }

  private evaluate(at: number): void {
    const trend = this.trend();
    const { config } = this;
    const growing = trend.samples >= config.minSamples && trend.spanMs >= config.windowMs * 0.8 && trend.bytesPerMinute >= config.minGrowthBytesPerMinute && trend.r2 >= config.minR2;
    if (!growing) {
      if (this.suspectedSince !== undefined) this.logger.info({ trend }, 'memory: leak suspicion cleared');
      this.suspectedSince = undefined;
      return;
    }
    if (this.suspectedSince === undefined) {
      this.suspectedSince = at;
      this.logger.warn({ trend }, 'memory: post-GC heap grows steadily, leak suspected');
    }
    if (config.snapshots && !this.diagnosing && at - this.lastSnapshotAt >= config.snapshotCooldownMs) {
      this.lastSnapshotAt = at;
      this.diagnosing = this.diagnose(trend).finally(() => (this.diagnosing = undefined));
    }
  }

  /**
   * Starts a diagnosis now unless one runs (an operator's request); the report appears in `status()`.
   * Returns false when one was already running.
   */
  requestDiagnosis(): boolean {
    if (this.diagnosing) return false;
    this.lastSnapshotAt = this.now();
    this.diagnosing = this.diagnose().finally(() => (this.diagnosing = undefined));
    return true;
  }

  /** The snapshot pair, diffed by constructor. */
  async diagnose(trend = this.trend()): Promise<LeakReport> {
    const stamp = `${process.pid}-${this.now()}`;
    const paths = [join(this.config.dir, `leak-${stamp}-a.heapsnapshot`), join(this.config.dir, `leak-${stamp}-b.heapsnapshot`)];
    const report: LeakReport = { at: new Date(this.now()).toISOString(), trend, growth: null, error: null };
    try {
      const sizes = [];
      for (const [i, path] of paths.entries()) {
        if (i > 0) await delay(this.config.snapshotGapMs, undefined, { signal: this.stopping.signal });
        await writeHeapSnapshot(path, this.config.maxSnapshotBytes);
        sizes.push(ownedSizesByConstructor(JSON.parse(await readFile(path, 'utf8')) as HeapSnapshot));
        rmSync(path, { force: true });
      }
      report.growth = diffConstructors(sizes[0]!, sizes[1]!);
      this.logger.warn({ growth: report.growth.slice(0, 5) }, 'memory: heap growth by constructor');
    } catch (error) {
      report.error = (error as Error).message;
      this.logger.warn({ err: error }, 'memory: leak diagnosis failed');
    } finally {
      for (const path of paths) rmSync(path, { force: true });
    }
    this.lastReport = report;
    return report;
  }

  /** Scrape-time values (collector `memory`): tachyon_memory_leak_suspected and the trend behind it. */
  metrics() {
    return {
      leakSuspected: this.suspectedSince === undefined ? 0 : 1,
      heapGrowthBytesPerMinute: this.trend().bytesPerMinute,
      postGcHeapBytes: this.samples.at(-1)?.heapUsed ?? 0,
    };
  }

  status() {
    const last = this.samples.at(-1) ?? null;
    return {
      diagnosing: this.diagnosing !== undefined,
      suspected: this.suspectedSince !== undefined,
      suspectedSince: this.suspectedSince === undefined ? null : new Date(this.suspectedSince).toISOString(),
      trend: this.trend(),
      lastPostGc: last,
      lastReport: this.lastReport ?? null,
      gc: Object.fromEntries(
        [...this.pauses].map(([kind, s]) => {
          const sorted = [...s.recent].sort((a, b) => a - b);
          return [kind, { count: s.count, totalMs: s.totalMs, pauseMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 } }];
        }),
      ),
    };
  }
}
