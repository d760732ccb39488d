/**
 * Real User Monitoring: the dashboard's own Core Web Vitals as measured in users' browsers (the
 * web-vitals library), kept as HDR histograms per page and metric. Pages and metrics are closed
 * lists, so the Prometheus labels they become stay bounded whatever a client posts.
 */
import { createHistogram, percentileMs, recordMs, type Histogram } from '../kernel/histogram.ts';

export const RUM_PAGES = ['signin', 'trading', 'performance'] as const;
export const RUM_METRICS = ['FCP', 'LCP', 'INP', 'CLS', 'TTFB'] as const;
export type RumPage = (typeof RUM_PAGES)[number];
export type RumMetric = (typeof RUM_METRICS)[number];

/** Percentiles of one metric: seconds for timings (Prometheus base units), the score itself for CLS. */
export interface RumSummary {
  count: number;
  p50: number;
  p75: number;
  p95: number;
  p99: number;
}

export class RealUserMetrics {
  readonly #histograms = new Map<string, Histogram>();

  /** `value` as web-vitals reports it: milliseconds for timings, a unitless score for CLS. */
  record(page: RumPage, metric: RumMetric, value: number): void {
    const key = `${page}|${metric}`;
    let histogram = this.#histograms.get(key);
    if (!histogram) this.#histograms.set(key, (histogram = createHistogram()));
    // The HDR helpers keep three significant digits above 1/1000 of a unit: right for ms and for CLS scores.
    recordMs(histogram, value);
  }

  /** `{ byPage: { trading: { LCP: { count, p50, … } } } }`: the metrics collector turns page and metric into labels. */
  stats(): { byPage: Record<string, Record<string, RumSummary>> } {
    const byPage: Record<string, Record<string, RumSummary>> = {};
    for (const [key, histogram] of this.#histograms) {
      const [page = '', metric = ''] = key.split('|');
      const scale = metric === 'CLS' ? 1 : 1 / 1000;
      (byPage[page] ??= {})[metric] = {
        count: histogram.totalCount,
        p50: percentileMs(histogram, 50) * scale,
        p75: percentileMs(histogram, 75) * scale,
        p95: percentileMs(histogram, 95) * scale,
        p99: percentileMs(histogram, 99) * scale,
      };
    }
    return { byPage };
  }
}

/** How the metrics registry exposes `stats()`: `tachyon_rum_p75{page="trading",metric="LCP"}`, `tachyon_rum_count_total{…}`. */
export const RUM_METRICS_SHAPE = { labels: { byPage: ['page', 'metric'] }, counters: ['byPage.count'] } as const;
