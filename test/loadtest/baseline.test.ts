import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareWithBaseline, loadBaseline, saveBaseline, toBaseline } from '../../src/loadtest/baseline.ts';
import { createHistogram, encodeHistogram, latencyStats, recordMs } from '../../src/kernel/histogram.ts';
import type { MetricSummary, RunResult } from '../../src/loadtest/results.ts';

const trend = (p95: number, p99: number, avg: number): MetricSummary => ({ kind: 'trend', count: 1000, min: 0.1, max: p99 * 2, avg, med: avg, p90: p95, p95, p99, p999: p99 });

function result(over: Partial<Record<string, MetricSummary>> = {}, series: Record<string, MetricSummary> = {}): RunResult {
  return {
    version: 1, scenario: 's', target: 'http://127.0.0.1/', executor: { type: 'constant-vus', vus: 1, duration: '1s' }, model: 'closed', workers: 1,
    startedAt: '', endedAt: '2026-01-01T00:00:00Z', durationMs: 1000, status: 'passed', exitCode: 0,
    metrics: {
      http_req_duration: trend(20, 40, 10),
      http_req_failed: { kind: 'rate', rate: 0.001, passes: 1, fails: 999 },
      http_reqs: { kind: 'counter', count: 1000, rate: 1000 },
      checks: { kind: 'rate', rate: 1, passes: 1000, fails: 0 },
      ...over,
    } as Record<string, MetricSummary>,
    series, endpoints: [], timeline: [], thresholds: [], errors: [], histograms: {},
  };
}

describe('baseline comparison', () => {
  it('passes an unchanged run and flags regressions beyond tolerance in the right direction', () => {
    const baseline = toBaseline(result({}, { 'http_req_duration{endpoint:quotes}': trend(5, 8, 3) }));
    expect(compareWithBaseline(result({}, { 'http_req_duration{endpoint:quotes}': trend(5, 8, 3) }), baseline).passed).toBe(true);

    const worse = compareWithBaseline(result({
      http_req_duration: trend(30, 41, 10), // p95 +50%: regression; p99 +2.5%: within 10%
      http_req_failed: { kind: 'rate', rate: 0.05, passes: 50, fails: 950 },
      http_reqs: { kind: 'counter', count: 500, rate: 500 }, // throughput halved
      checks: { kind: 'rate', rate: 0.8, passes: 800, fails: 200 }, // higher is better: falling is worse
    }, { 'http_req_duration{endpoint:quotes}': trend(5, 20, 3) }), baseline);
    expect(worse.passed).toBe(false);
    expect(worse.regressions.map((r) => `${r.metric}.${r.stat}`).sort()).toEqual([
      'checks.rate', 'http_req_duration.p95', 'http_req_failed.rate', 'http_req_duration{endpoint:quotes}.p99', 'http_reqs.rate',
    ].sort());
  });

  it('honours per-metric / per-statistic tolerances, absolute floors and reports improvements', () => {
    const baseline = toBaseline(result());
    const cmp = compareWithBaseline(result({ http_req_duration: trend(30, 48, 10.5) }), baseline, {
      perMetric: { http_req_duration: { p95: 0.6, p99: 0.1 } },
    });
    expect(cmp.regressions.map((r) => r.stat)).toEqual(['p99']);
    // 0.3 → 0.5 ms is +66% but below the 1 ms floor.
    const tiny = compareWithBaseline(result({ http_req_duration: trend(0.5, 0.6, 0.4) }), toBaseline(result({ http_req_duration: trend(0.3, 0.4, 0.2) })));
    expect(tiny.passed).toBe(true);
    const faster = compareWithBaseline(result({ http_req_duration: trend(10, 20, 5) }), baseline);
    expect(faster.improvements.map((r) => r.stat).sort()).toEqual(['avg', 'p95', 'p99']);
    const missing = compareWithBaseline(result({ http_req_duration: undefined }), baseline);
    expect(missing.missing).toContain('http_req_duration');
  });

  /** A run of n requests drawn from one latency distribution (log-normal around `medianMs`), seeded. */
  function sampledRun(n: number, medianMs: number, failed: number, seed: number): RunResult {
    let state = seed * 0x9e3779b9;
    const uniform = () => {
      // mulberry32
      state = (state + 0x6d2b79f5) | 0;
      let x = Math.imul(state ^ (state >>> 15), 1 | state);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return (((x ^ (x >>> 14)) >>> 0) + 1) / 4_294_967_297;
    };
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const whole = createHistogram();
    const quotes = createHistogram();
    for (let i = 0; i < n; i++) {
      const ms = medianMs * Math.exp(0.6 * normal());
      recordMs(whole, ms);
      if (i % 3 === 0) recordMs(quotes, ms);
    }
    const trendOf = (h: typeof whole): MetricSummary => ({ kind: 'trend', ...latencyStats(h) });
    const base = result({
      http_req_duration: trendOf(whole),
      http_req_failed: { kind: 'rate', rate: failed / n, passes: failed, fails: n - failed },
      http_reqs: { kind: 'counter', count: n, rate: n / 30 },
      checks: { kind: 'rate', rate: 1 - failed / n, passes: n - failed, fails: failed },
    }, { 'http_req_duration{endpoint:quotes}': trendOf(quotes) });
    return { ...base, histograms: { http_req_duration: encodeHistogram(whole) } };
  }

  it('two runs of one unchanged system compare as unchanged, small or large; a real slowdown is still caught', () => {
    for (const n of [45, 300, 2_000]) {
      for (let seed = 1; seed <= 5; seed++) {
        const cmp = compareWithBaseline(sampledRun(n, 8, 0, seed + 100), toBaseline(sampledRun(n, 8, 0, seed)));
        expect(cmp.regressions, `n=${n} seed=${seed}`).toEqual([]);
        expect(cmp.passed).toBe(true);
      }
    }
    // A smoke run's 45 samples cannot speak for p99 at all: said so, never called a regression.
    const smoke = compareWithBaseline(sampledRun(45, 16, 0, 7), toBaseline(sampledRun(45, 8, 0, 8)));
    expect(smoke.insufficient).toContain('http_req_duration p99');
    expect(smoke.regressions.map((r) => `${r.metric}.${r.stat}`)).toEqual(expect.arrayContaining(['http_req_duration.avg']));
    // With enough samples, twice the latency and 3% failures are regressions.
    const slower = compareWithBaseline(sampledRun(2_000, 16, 60, 9), toBaseline(sampledRun(2_000, 8, 0, 10)));
    expect(slower.regressions.map((r) => `${r.metric}.${r.stat}`)).toEqual(expect.arrayContaining(['http_req_duration.p95', 'http_req_duration.p99', 'http_req_failed.rate']));
  });

  it('saves and loads baselines as JSON files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baseline-'));
    try {
      const path = join(dir, 'nested', 'quotes.json');
      await saveBaseline(path, result());
      const loaded = await loadBaseline(path);
      expect(loaded.metrics.http_req_duration).toEqual(trend(20, 40, 10));
      expect(compareWithBaseline(result(), loaded).passed).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
