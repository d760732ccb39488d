/**
 * The platform's metrics: one prom-client Registry per platform (never the global default, so two
 * platforms in one process do not collide), factories for counters, gauges and histograms, and
 * `registerCollector` for components that keep their own stats (see docs/CONVENTIONS.md).
 */
import { Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';
import { SeriesHistogram } from './series-histogram.ts';
import { exposition, samplesOf, type CollectorShape, type Sample, type StatsSource } from './collectors.ts';

/** Seconds; dense between 0.5 ms and 100 ms where Tachyon's latency budgets live. 0.05 and 0.1 are SLO thresholds. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Collector {
  source: StatsSource;
  shape: CollectorShape;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly collectors = new Map<string, Collector>();

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ buckets: LATENCY_BUCKETS_SECONDS, ...config, registers: [this.registry] });
  }

  /** A histogram for hot paths: callers resolve and keep a series per label set (see SeriesHistogram). */
  seriesHistogram<L extends string>(config: { name: string; help: string; labelNames: readonly L[]; buckets?: readonly number[] }): SeriesHistogram<L> {
    return new SeriesHistogram(config.name, config.help, config.labelNames, config.buckets ?? LATENCY_BUCKETS_SECONDS, this.registry);
  }

  /** Exposes `source()`'s numeric leaves as `tachyon_<name>_*` at each scrape; returns an unregister function. */
  registerCollector(name: string, source: StatsSource, shape: CollectorShape = {}): () => void {
    if (this.collectors.has(name)) throw new RangeError(`metrics collector "${name}" is already registered`);
    this.collectors.set(name, { source, shape });
    return () => this.collectors.delete(name);
  }

  /** The current samples of one collector (empty when it is not registered). */
  async collect(name: string): Promise<Sample[]> {
    const collector = this.collectors.get(name);
    return collector ? samplesOf(name, await collector.source(), collector.shape) : [];
  }

  /** Raw stats of one collector, for the JSON performance API. */
  async stats(name: string): Promise<object | undefined> {
    return this.collectors.get(name)?.source();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    const names = [...this.collectors.keys()];
    // One failing component must not blank the whole scrape: its series go missing (absent() alerts see that).
    const render = (n: string) => this.collect(n).then((samples) => exposition(n, samples), (error: Error) => `# collector ${n} failed: ${error.message.replace(/\n/g, ' ')}\n`);
    const [own, ...collected] = await Promise.all([this.registry.metrics(), ...names.map(render)]);
    return own + collected.join('');
  }
}
