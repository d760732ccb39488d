/**
 * Metric store: every sample lands in a per-second bucket of its series (metric name + tags), so
 * whole-run figures, throughput/percentiles over time and sliding-window thresholds all derive from
 * the same data. Kinds follow k6: trend (latency-like, HDR histogram), counter (sum), rate (share of true).
 * A worker thread drains its buckets periodically; the main thread merges them exactly.
 */
import { createFlatHistogram, createHistogram, decodeHistogram, encodeHistogram, recordMs } from '../kernel/histogram.ts';
import type { Histogram } from '../kernel/histogram.ts';

export type MetricKind = 'trend' | 'counter' | 'rate';
export type Tags = Readonly<Record<string, string>>;

interface RateCell {
  pass: number;
  total: number;
}
type Cell = Histogram | number | RateCell;

export interface Series {
  readonly key: string;
  readonly metric: string;
  readonly kind: MetricKind;
  readonly tags: Tags;
  /** Second index since the run's start → bucket. */
  readonly buckets: Map<number, Cell>;
  /**
   * Trends only: the newest second's bucket while it is being written, in the flat form (a record costs
   * ~50 ns against ~700 ns packed: it is written twice per request); see FLAT_FINISHED for when it is packed.
   */
  hot?: { sec: number; histogram: Histogram };
}

/** Wire form of a registry's contents (structured-clone safe, JSON safe). */
export interface MetricsSnapshot {
  series: Array<{ metric: string; kind: MetricKind; tags: Tags; buckets: Array<[number, string | number | [number, number]]> }>;
}

export function seriesKey(metric: string, tags: Tags): string {
  const keys = Object.keys(tags);
  if (keys.length === 0) return metric;
  keys.sort();
  return `${metric}{${keys.map((k) => `${k}:${tags[k]}`).join(',')}}`;
}

/** Milliseconds on a clock shared by all threads of a run (performance.now() alone is per-thread). */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Finished trend seconds kept in the flat form (registry-wide, newest; ~10-60 KB each) before the oldest is
 * packed. Summaries add every bucket into one flat histogram several times at the end of a run, and adding a
 * packed bucket walks its whole index range through the packed lookup: ~0.3 s of CPU after a 4 s run at 20k
 * requests/s (a CPU profile of bench:loadgen), against a few ms for flat ones. Short runs stay flat; long
 * ones keep the packed form's memory for all but the newest seconds.
 */
const FLAT_FINISHED = 64;

export class MetricsRegistry {
  private readonly series = new Map<string, Series>();
  private readonly kinds = new Map<string, MetricKind>();
  private readonly flatFinished: Array<{ series: Series; sec: number; histogram: Histogram }> = [];

  /** @param startMs the run's start on the epochNowMs() clock; bucket 0 begins there. */
  constructor(readonly startMs: number) {}

  secondOf(atMs: number): number {
    return Math.max(0, Math.floor((atMs - this.startMs) / 1000));
  }

  /** A series handle for hot paths that record the same metric+tags repeatedly (skips key building). */
  handle(metric: string, kind: MetricKind, tags: Tags): Series {
    return this.seriesFor(metric, kind, tags);
  }

  addTrend(metric: string, tags: Tags, ms: number, atMs = epochNowMs()): void {
    this.trendOn(this.seriesFor(metric, 'trend', tags), ms, atMs);
  }

  trendOn(series: Series, ms: number, atMs: number): void {
    const sec = this.secondOf(atMs);
    const hot = series.hot;
    if (hot?.sec === sec) return recordMs(hot.histogram, ms);
    let h = series.buckets.get(sec) as Histogram | undefined;
    if (!h && (!hot || sec > hot.sec)) {
      if (hot) this.finished(series, hot.sec, hot.histogram);
      series.hot = { sec, histogram: (h = createFlatHistogram()) };
      series.buckets.set(sec, h);
    } else if (!h) series.buckets.set(sec, (h = createHistogram()));
    recordMs(h, ms);
  }

  private finished(series: Series, sec: number, histogram: Histogram): void {
    this.flatFinished.push({ series, sec, histogram });
    if (this.flatFinished.length <= FLAT_FINISHED) return;
    const oldest = this.flatFinished.shift()!;
    // Drained or merged into since: nothing of ours to pack.
    if (oldest.series.buckets.get(oldest.sec) === oldest.histogram) oldest.series.buckets.set(oldest.sec, packed(oldest.histogram));
  }

  addCounter(metric: string, tags: Tags, n: number, atMs = epochNowMs()): void {
    this.counterOn(this.seriesFor(metric, 'counter', tags), n, atMs);
  }

  counterOn(series: Series, n: number, atMs: number): void {
    const sec = this.secondOf(atMs);
    series.buckets.set(sec, ((series.buckets.get(sec) as number | undefined) ?? 0) + n);
  }

  /** Counts one sample; the rate is the share of samples that were `true`. */
  addRate(metric: string, tags: Tags, value: boolean, atMs = epochNowMs()): void {
    this.rateOn(this.seriesFor(metric, 'rate', tags), value, atMs);
  }

  rateOn(series: Series, value: boolean, atMs: number): void {
    const sec = this.secondOf(atMs);
    let cell = series.buckets.get(sec) as RateCell | undefined;
    if (!cell) series.buckets.set(sec, (cell = { pass: 0, total: 0 }));
    cell.total++;
    if (value) cell.pass++;
  }

  kindOf(metric: string): MetricKind | undefined {
    return this.kinds.get(metric);
  }

  metricNames(): string[] {
    return [...this.kinds.keys()];
  }

  allSeries(): Series[] {
    return [...this.series.values()];
  }

  /** Series of `metric` whose tags include every selector tag (k6's `metric{tag:value}`). */
  select(metric: string, selector: Tags = {}): Series[] {
    const wanted = Object.entries(selector);
    return this.allSeries().filter((s) => s.metric === metric && wanted.every(([k, v]) => s.tags[k] === v));
  }

  /** Highest second index holding data, or -1 when empty. */
  lastSecond(): number {
    let last = -1;
    for (const s of this.series.values()) for (const sec of s.buckets.keys()) if (sec > last) last = sec;
    return last;
  }

  /** Serializes and forgets everything recorded so far (a worker's periodic delta). */
  drain(): MetricsSnapshot {
    const snapshot = this.snapshot();
    for (const s of this.series.values()) {
      s.buckets.clear();
      s.hot = undefined;
    }
    this.flatFinished.length = 0;
    return snapshot;
  }

  snapshot(): MetricsSnapshot {
    return {
      series: this.allSeries().map((s) => ({
        metric: s.metric,
        kind: s.kind,
        tags: s.tags,
        buckets: [...s.buckets].map(([sec, cell]) => [sec, encodeCell(s.kind, cell)]),
      })),
    };
  }

  /** Adds a snapshot's counts into this registry, bucket by bucket (exact for all kinds). */
  merge(snapshot: MetricsSnapshot): void {
    for (const incoming of snapshot.series) {
      const series = this.seriesFor(incoming.metric, incoming.kind, incoming.tags);
      for (const [sec, wire] of incoming.buckets) {
        const cell = decodeCell(incoming.kind, wire);
        const existing = series.buckets.get(sec);
        series.buckets.set(sec, existing === undefined ? cell : addCells(incoming.kind, existing, cell));
      }
    }
  }

  private seriesFor(metric: string, kind: MetricKind, tags: Tags): Series {
    const key = seriesKey(metric, tags);
    let series = this.series.get(key);
    if (series?.kind === kind) return series;
    const known = series?.kind ?? this.kinds.get(metric);
    if (known && known !== kind) throw new TypeError(`metric "${metric}" is a ${known}, not a ${kind}`);
    if (!/^[A-Za-z_][\w.-]*$/.test(metric)) throw new TypeError(`invalid metric name "${metric}" (letters, digits, _ . -)`);
    this.kinds.set(metric, kind);
    series = { key, metric, kind, tags: { ...tags }, buckets: new Map() };
    this.series.set(key, series);
    return series;
  }
}

function packed(flat: Histogram): Histogram {
  const h = createHistogram();
  h.add(flat);
  return h;
}

function encodeCell(kind: MetricKind, cell: Cell): string | number | [number, number] {
  if (kind === 'trend') return encodeHistogram(cell as Histogram);
  if (kind === 'counter') return cell as number;
  const rate = cell as RateCell;
  return [rate.pass, rate.total];
}

function decodeCell(kind: MetricKind, wire: string | number | [number, number]): Cell {
  if (kind === 'trend') return decodeHistogram(wire as string);
  if (kind === 'counter') return wire as number;
  const [pass, total] = wire as [number, number];
  return { pass, total };
}

function addCells(kind: MetricKind, a: Cell, b: Cell): Cell {
  if (kind === 'trend') {
    (a as Histogram).add(b as Histogram);
    return a;
  }
  if (kind === 'counter') return (a as number) + (b as number);
  const x = a as RateCell;
  const y = b as RateCell;
  return { pass: x.pass + y.pass, total: x.total + y.total };
}

/** Aggregate of some series over the seconds [from, to] (inclusive; default all). */
export interface Aggregate {
  kind: MetricKind;
  histogram?: Histogram;
  sum: number;
  pass: number;
  total: number;
  /** Seconds spanned, for counters' per-second rate. */
  seconds: number;
}

export function aggregate(series: readonly Series[], from = 0, to = Number.MAX_SAFE_INTEGER): Aggregate | undefined {
  const first = series[0];
  if (!first) return undefined;
  const out: Aggregate = { kind: first.kind, sum: 0, pass: 0, total: 0, seconds: 0 };
  // Flat: a transient sum read by percentile scans, which cost several times more on the packed form.
  if (first.kind === 'trend') out.histogram = createFlatHistogram();
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const [sec, cell] of s.buckets) {
      if (sec < from || sec > to) continue;
      lo = Math.min(lo, sec);
      hi = Math.max(hi, sec);
      if (s.kind === 'trend') out.histogram?.add(cell as Histogram);
      else if (s.kind === 'counter') out.sum += cell as number;
      else {
        out.pass += (cell as RateCell).pass;
        out.total += (cell as RateCell).total;
      }
    }
  }
  out.seconds = hi >= lo ? hi - lo + 1 : 0;
  return out;
}
