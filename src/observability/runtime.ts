/**
 * Runtime metrics. Prometheus gets prom-client's standard Node.js set on this platform's registry
 * (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_heap_size_used_bytes,
 * nodejs_eventloop_lag_*_seconds, nodejs_gc_duration_seconds…), which dashboards and SREs already
 * know, plus the two denominators the CPU and memory alerts need. The performance API and in-process
 * alerts read CPU utilization over sliding windows from a 10 s sampler of process.cpuUsage().
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { collectDefaultMetrics, type Histogram } from 'prom-client';
import type { Clock } from '../kernel/clock.ts';
import { mallocTuning } from '../kernel/malloc-tuning.ts';
import type { Metrics } from './metrics.ts';
import { WINDOWS } from './windows.ts';

const SAMPLE_MS = 10_000;
const SAMPLES = WINDOWS['15m'] / SAMPLE_MS + 1;

/**
 * One consumer of the instance's memory as it reports itself: byte figures end in `Bytes`, anything
 * else is a count (threads, entries). Registered by the component that owns it (see platform.ts).
 */
export type MemoryConsumer = () => Record<string, number> | Promise<Record<string, number>>;

interface CpuSample {
  at: number;
  cpuMicros: number;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
}

export class Runtime {
  readonly cores = availableParallelism();
  private readonly samples: CpuSample[] = [];
  private readonly consumers = new Map<string, MemoryConsumer>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    /** The memory budget per instance the memory alert compares RSS with. */
    readonly memoryLimitBytes: number,
  ) {
    collectDefaultMetrics({ register: metrics.registry, eventLoopMonitoringPrecision: 10 });
    metrics.gauge({ name: 'tachyon_cpu_cores', help: 'CPUs available to this process (denominator of CPU utilization)' }).set(this.cores);
    metrics.gauge({ name: 'tachyon_memory_limit_bytes', help: 'Memory budget of this instance (denominator of memory utilization)' }).set(memoryLimitBytes);
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private now(): CpuSample {
    const cpu = process.cpuUsage();
    return { at: this.clock.now(), cpuMicros: cpu.user + cpu.system, elu: performance.eventLoopUtilization() };
  }

  private sample(): void {
    this.samples.push(this.now());
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  /** CPU time over wall time × cores, and event-loop utilization, over the window; undefined before the first sample. */
  utilization(windowMs: number): { cpu: number; eventLoop: number } | undefined {
    const current = this.now();
    const from = this.samples.find((s) => s.at >= current.at - windowMs) ?? this.samples.at(-1);
    if (!from || current.at <= from.at) return undefined;
    const wallMicros = (current.at - from.at) * 1000;
    return {
      cpu: (current.cpuMicros - from.cpuMicros) / (wallMicros * this.cores),
      eventLoop: performance.eventLoopUtilization(current.elu, from.elu).utilization,
    };
  }

  memoryUtilization(): number {
    return process.memoryUsage.rss() / this.memoryLimitBytes;
  }

  /** Adds a consumer to /metrics/memory's breakdown (called at request time only). */
  registerMemoryConsumer(name: string, consumer: MemoryConsumer): void {
    this.consumers.set(name, consumer);
  }

  /** The main thread's V8 heap by space (resident bytes), and what each registered consumer reports. */
  private async consumerReport(): Promise<Record<string, Record<string, number>>> {
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [`${s.space_name.replace(/_space$/, '').replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}Bytes`, s.physical_space_size]));
    const report: Record<string, Record<string, number>> = { mainHeap: { residentBytes: getHeapStatistics().total_physical_size, ...spaces } };
    for (const [name, consumer] of this.consumers) {
      try {
        report[name] = await consumer();
      } catch {
        // A consumer that cannot answer (its thread is gone) is left out, not an error of the whole report.
      }
    }
    return report;
  }

  async memory() {
    const usage = process.memoryUsage();
    const gcDuration = this.metrics.registry.getSingleMetric('nodejs_gc_duration_seconds') as Histogram | undefined;
    const gc = (await gcDuration?.get())?.values ?? [];
    const byKind: Record<string, { count: number; totalMs: number }> = {};
    for (const v of gc) {
      const kind = String(v.labels.kind);
      const entry = (byKind[kind] ??= { count: 0, totalMs: 0 });
      if (v.metricName?.endsWith('_count')) entry.count = v.value;
      if (v.metricName?.endsWith('_sum')) entry.totalMs = v.value * 1000;
    }
    return {
      rssBytes: usage.rss,
      heapUsedBytes: usage.heapUsed,
      heapTotalBytes: usage.heapTotal,
      heapLimitBytes: getHeapStatistics().heap_size_limit,
      externalBytes: usage.external,
      arrayBuffersBytes: usage.arrayBuffers,
      limitBytes: this.memoryLimitBytes,
      utilization: usage.rss / this.memoryLimitBytes,
      consumers: await this.consumerReport(),
      // The C library's allocator setting (GLIBC_TUNABLES) the process started with: null off glibc.
      malloc: mallocTuning(),
      gc: byKind,
    };
  }
}
