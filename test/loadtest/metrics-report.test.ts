import { describe, expect, it } from 'vitest';
import { createFlatHistogram, createHistogram, meanOf, percentileMs, recordMs } from '../../src/kernel/histogram.ts';
import { MetricsRegistry, aggregate } from '../../src/loadtest/metrics.ts';
import { ProgressPrinter, formatProgress } from '../../src/loadtest/progress.ts';
import { formatSummary, renderHtmlReport } from '../../src/loadtest/report/index.ts';
import { endpointSummaries, metricSummaries, timeline } from '../../src/loadtest/results.ts';
import type { RunResult } from '../../src/loadtest/results.ts';

describe('metrics', () => {
  it('computes the same mean as hdr-histogram-js, flat and packed', () => {
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const h of [createFlatHistogram(), createHistogram(), createFlatHistogram(2)]) {
      expect(meanOf(h)).toBe(0);
      for (let i = 0; i < 5000; i++) recordMs(h, rand() < 0.02 ? 1000 + rand() * 60_000 : rand() * 30);
      expect(meanOf(h)).toBe(h.mean);
    }
  });

  it('gives exact percentiles over a run longer than the flat buckets kept (older seconds packed)', () => {
    const registry = new MetricsRegistry(0);
    const all = new MetricsRegistry(0);
    for (let sec = 0; sec < 100; sec++) {
      for (let i = 0; i < 50; i++) {
        const ms = ((sec * 50 + i) % 997) / 10;
        // In time order, as a run records: each new second finishes the previous one.
        for (const endpoint of ['a', 'b']) registry.addTrend('lat', { endpoint }, ms, sec * 1000 + i);
        all.addTrend('lat', {}, ms, 0);
      }
    }
    const finished = registry.select('lat').flatMap((s) => [...s.buckets.values()]);
    expect(new Set(finished.map((h) => h.constructor.name)).size).toBe(2); // both forms present
    const got = aggregate(registry.select('lat'))!.histogram!;
    const want = aggregate(all.select('lat'))!.histogram!;
    expect(got.totalCount).toBe(2 * want.totalCount);
    for (const p of [50, 90, 99, 99.9]) expect(percentileMs(got, p)).toBe(percentileMs(want, p));
  });

  it('merges worker snapshots exactly: same percentiles as one registry fed everything', () => {
    const start = 0;
    const whole = new MetricsRegistry(start);
    const parts = [new MetricsRegistry(start), new MetricsRegistry(start), new MetricsRegistry(start)];
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 30_000; i++) {
      const ms = rand() < 0.01 ? 500 + rand() * 2000 : rand() * 20;
      const at = start + rand() * 5000;
      const tags = { endpoint: i % 2 ? 'quotes' : 'orders' };
      whole.addTrend('lat', tags, ms, at);
      whole.addRate('ok', tags, ms < 100, at);
      whole.addCounter('n', tags, 1, at);
      const part = parts[i % 3] as MetricsRegistry;
      part.addTrend('lat', tags, ms, at);
      part.addRate('ok', tags, ms < 100, at);
      part.addCounter('n', tags, 1, at);
    }
    const merged = new MetricsRegistry(start);
    // Two deltas per part, as a worker drains periodically.
    for (const p of parts) merged.merge(JSON.parse(JSON.stringify(p.drain())));
    for (const p of parts) merged.merge(p.drain());
    const a = aggregate(whole.select('lat'));
    const b = aggregate(merged.select('lat'));
    for (const p of [50, 90, 99, 99.9, 100]) expect(percentileMs(b?.histogram as never, p)).toBe(percentileMs(a?.histogram as never, p));
    expect(aggregate(merged.select('ok'))).toMatchObject({ pass: aggregate(whole.select('ok'))?.pass, total: 30_000 });
    expect(aggregate(merged.select('n', { endpoint: 'quotes' }))?.sum).toBe(15_000);
  });

  it('refuses to reuse a metric name with another kind', () => {
    const r = new MetricsRegistry(0);
    r.addTrend('x', {}, 1, 0);
    expect(() => r.addCounter('x', {}, 1, 0)).toThrow(/is a trend/);
  });
});

function sampleResult(): RunResult {
  const r = new MetricsRegistry(0);
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < 100; i++) {
      const tags = { method: 'GET', endpoint: i % 4 ? '/quotes' : '/orders<script>', status: '200' };
      r.addTrend('http_req_duration', tags, 1 + (i % 10), s * 1000 + 10);
      r.addRate('http_req_failed', tags, i === 0, s * 1000 + 10);
      r.addCounter('http_reqs', tags, 1, s * 1000 + 10);
      r.addCounter('iterations', {}, 1, s * 1000 + 10);
    }
  }
  return {
    version: 1, scenario: 'quotes', target: 'http://127.0.0.1:3000/', executor: { type: 'constant-arrival-rate', rate: 100, duration: '5s' }, model: 'open', workers: 1,
    startedAt: new Date(0).toISOString(), endedAt: new Date(5000).toISOString(), durationMs: 5000, status: 'failed', exitCode: 99,
    ...metricSummaries({ registry: r, runSeconds: 5 }), endpoints: endpointSummaries({ registry: r, runSeconds: 5 }), timeline: timeline(r),
    thresholds: [{ key: 'http_req_duration', source: 'p(95)<5', passed: false, observed: 10, noData: false, abortOnFail: false }], errors: [{ message: 'boom', count: 2 }],
  };
}

describe('reports', () => {
  it('summarizes per endpoint and over time', () => {
    const result = sampleResult();
    expect(result.endpoints.map((e) => [e.endpoint, e.requests])).toEqual([['/quotes', 375], ['/orders<script>', 125]]);
    expect(result.timeline).toHaveLength(5);
    expect(result.timeline[2]).toMatchObject({ t: 2, requests: 100, failed: 1, iterations: 100 });
    expect(result.endpoints[1]?.failedRate).toBeCloseTo(5 / 125);
  });

  it('prints a summary table with thresholds and errors', () => {
    const text = formatSummary(sampleResult());
    expect(text).toContain('✗ FAILED');
    expect(text).toMatch(/http_req_duration\s+500/);
    // 5 failed requests of 500: ✓ counts the good ones, whichever way the rate metric counts.
    expect(text).toMatch(/http_req_failed\s+500\s+1\.00%\s+✓ 495\s+✗ 5/);
    expect(text).toContain('GET /quotes');
    expect(text).toContain('✗ http_req_duration: p(95)<5');
    expect(text).toContain('2× boom');
  });

  it('renders a self-contained HTML report with inline SVG and escaped text', () => {
    const html = renderHtmlReport(sampleResult());
    expect(html).toContain('<svg');
    expect(html).toContain('<polyline');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('/orders&#60;script&#62;');
  });

  it('prints progress on one rewritten line on a TTY, periodic lines otherwise', () => {
    const p = { elapsedMs: 12_000, durationMs: 60_000, requests: 1200, iterations: 1200, dropped: 0, rps: 100, p95: 4.2, errorRate: 0.001, thresholdsFailing: 0 };
    expect(formatProgress(p)).toContain('100 req/s | p95 4.20ms | errors 0.10%');
    expect(formatProgress(p)).not.toContain('dropped');
    expect(formatProgress({ ...p, dropped: 7 })).toContain('iters 1200 | dropped 7');
    const chunks: string[] = [];
    const sink = { write: (s: string) => chunks.push(s), isTTY: true } as never;
    new ProgressPrinter(sink).update(p);
    expect(chunks[0]?.startsWith('\r')).toBe(true);
    const lines: string[] = [];
    const pipe = new ProgressPrinter({ write: (s: string) => lines.push(s) } as never, 10_000);
    for (const t of [1000, 5000, 11_000, 15_000, 21_000]) pipe.update({ ...p, elapsedMs: t });
    expect(lines).toHaveLength(2);
  });
});
