import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { exposition, samplesOf } from '../../src/observability/collectors.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { dominantSpan, SlowestTraces } from '../../src/observability/slowest-traces.ts';
import { fingerprint, StatementNames } from '../../src/observability/statement.ts';
import { registerTradingCounters } from '../../src/observability/trading-counters.ts';
import { LatencyWindow, MINUTE_MS, SloCounts } from '../../src/observability/windows.ts';
import { OrderCounts } from '../../src/trading/order-counts.ts';

/** Deterministic xorshift so the distribution is the same on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('sliding latency windows', () => {
  it('report percentiles of a known distribution within HDR precision', () => {
    const clock = new ManualClock();
    const window = new LatencyWindow(clock);
    const next = random(7);
    const values: number[] = [];
    // Exponential latencies (mean 20 ms) spread over 4 minutes, plus a 1% tail at 300-400 ms.
    for (let i = 0; i < 48_000; i++) {
      if (i % 200 === 0) clock.advance(1000);
      const ms = i % 100 === 0 ? 300 + next() * 100 : -20 * Math.log(1 - next());
      values.push(ms);
      window.record(ms, i % 50 === 0);
    }
    values.sort((a, b) => a - b);
    const exact = (p: number) => values[Math.ceil((p / 100) * values.length) - 1]!;
    const stats = window.stats(5 * MINUTE_MS);
    expect(stats.count).toBe(48_000);
    for (const [p, got] of [[50, stats.p50], [95, stats.p95], [99, stats.p99]] as const) {
      expect(Math.abs(got - exact(p)) / exact(p)).toBeLessThan(0.002);
    }
    expect(Math.abs(stats.max - values.at(-1)!) / values.at(-1)!).toBeLessThan(0.002);
    expect(stats.errorRatio).toBeCloseTo(0.02, 5);
    expect(stats.ratePerSecond).toBeCloseTo(48_000 / 240, 0);
  });

  it('forget what slid out of the window', () => {
    const clock = new ManualClock();
    const window = new LatencyWindow(clock);
    window.record(500);
    clock.advance(2 * MINUTE_MS);
    window.record(5);
    expect(window.stats(MINUTE_MS)).toMatchObject({ count: 1, max: 5 });
    expect(window.stats(5 * MINUTE_MS)).toMatchObject({ count: 2, max: 500 });
    clock.advance(20 * MINUTE_MS);
    expect(window.stats(15 * MINUTE_MS).count).toBe(0);
  });

  it('count SLO bad events per window up to 6 hours', () => {
    const clock = new ManualClock();
    const slo = new SloCounts(clock);
    for (let i = 0; i < 100; i++) slo.record(i < 10, i < 30);
    clock.advance(2 * 60 * MINUTE_MS);
    for (let i = 0; i < 100; i++) slo.record(false, false);
    expect(slo.ratios(5 * MINUTE_MS)).toEqual({ total: 100, errorRatio: 0, slowRatio: 0 });
    expect(slo.ratios(6 * 60 * MINUTE_MS)).toEqual({ total: 200, errorRatio: 0.05, slowRatio: 0.15 });
  });
});

describe('collectors', () => {
  it('flatten component stats into labelled gauges and counters', async () => {
    const stats = { depth: 3, completionRate: null, byType: { backtest: { queued: 2, completed: 7, waitMs: { p95: 1.5 } } } };
    const samples = samplesOf('task_queue', stats, { labels: { byType: ['type'] }, counters: ['byType.completed'] });
    expect(samples).toEqual([
      { name: 'tachyon_task_queue_depth', keyPath: 'depth', type: 'gauge', labels: {}, value: 3 },
      { name: 'tachyon_task_queue_queued', keyPath: 'byType.queued', type: 'gauge', labels: { type: 'backtest' }, value: 2 },
      { name: 'tachyon_task_queue_completed_total', keyPath: 'byType.completed', type: 'counter', labels: { type: 'backtest' }, value: 7 },
      { name: 'tachyon_task_queue_wait_ms_p95', keyPath: 'byType.waitMs.p95', type: 'gauge', labels: { type: 'backtest' }, value: 1.5 },
    ]);
    const cache = samplesOf('cache', { quotes: { l1: { hits: 9, misses: 1 } } }, { labels: { '': ['class', 'tier'] }, counters: ['hits', 'misses'] });
    expect(exposition('cache', cache)).toBe(
      '# HELP tachyon_cache_hits_total cache stats: hits\n# TYPE tachyon_cache_hits_total counter\ntachyon_cache_hits_total{class="quotes",tier="l1"} 9\n' +
        '# HELP tachyon_cache_misses_total cache stats: misses\n# TYPE tachyon_cache_misses_total counter\ntachyon_cache_misses_total{class="quotes",tier="l1"} 1\n',
    );
  });

  it('are scraped with the registry, and a failing one does not blank the scrape', async () => {
    const metrics = new Metrics();
    metrics.counter({ name: 'tachyon_orders_total', help: 'orders', labelNames: ['outcome'] }).inc({ outcome: 'filled' }, 3);
    metrics.registerCollector('websocket', async () => ({ connections: 4 }));
    metrics.registerCollector('broken', () => {
      throw new Error('down');
    });
    const text = await metrics.text();
    expect(text).toContain('tachyon_orders_total{outcome="filled"} 3');
    expect(text).toContain('tachyon_websocket_connections 4');
    expect(text).toContain('# collector broken failed: down');
    expect(() => metrics.registerCollector('websocket', () => ({}))).toThrow(/already registered/);
    // Two platforms' registries are independent.
    expect(await new Metrics().text()).not.toContain('tachyon_orders_total');
  });
});

describe('statement fingerprints', () => {
  it('collapse literals and whitespace, and bound the number of distinct statements', () => {
    expect(fingerprint("SELECT *  FROM bars\n WHERE symbol = 'AAPL' AND ts > 1700000000 LIMIT $1")).toBe('SELECT * FROM bars WHERE symbol = ? AND ts > ? LIMIT $1');
    const names = new StatementNames(2);
    expect(names.of('SELECT 1')).toBe('SELECT ?');
    expect(names.of('SELECT a FROM t')).toBe('SELECT a FROM t');
    expect(names.of('SELECT b FROM t')).toBe('other');
    expect(names.of('SELECT 2')).toBe('SELECT ?');
  });
});

describe('series histograms', () => {
  it('render cumulative buckets, sum and count per label set, le first as prom-client does', async () => {
    const metrics = new Metrics();
    const histogram = metrics.seriesHistogram({ name: 'x_seconds', help: 'x', labelNames: ['route'], buckets: [0.001, 0.01] });
    const a = histogram.series('/a');
    for (const v of [0.0005, 0.001, 0.005, 2]) a.observe(v);
    histogram.series('/b').observe(0.02);
    const text = await metrics.text();
    expect(text).toContain('# TYPE x_seconds histogram');
    expect(text).toContain('x_seconds_bucket{le="0.001",route="/a"} 2\nx_seconds_bucket{le="0.01",route="/a"} 3\nx_seconds_bucket{le="+Inf",route="/a"} 4\n');
    expect(text).toContain('x_seconds_sum{route="/a"} 2.0065\nx_seconds_count{route="/a"} 4');
    expect(text).toContain('x_seconds_bucket{le="0.01",route="/b"} 0\nx_seconds_bucket{le="+Inf",route="/b"} 1');
    expect(histogram.series('/a')).toBe(a);
  });

  it('keep one series per full label set, found again by the same values, until reset', async () => {
    const metrics = new Metrics();
    const histogram = metrics.seriesHistogram({ name: 'y_seconds', help: 'y', labelNames: ['method', 'route', 'status_code'], buckets: [1] });
    const ok = histogram.series('GET', '/a', '200');
    const sets = [ok, histogram.series('GET', '/a', '500'), histogram.series('HEAD', '/a', '200'), histogram.series('GET', '/b', '200')];
    expect(new Set(sets).size).toBe(4);
    expect(histogram.series('GET', '/a', '200')).toBe(ok);
    ok.observe(0.5);
    expect(await metrics.text()).toContain('y_seconds_count{method="GET",route="/a",status_code="200"} 1');
    histogram.reset();
    expect(await metrics.text()).not.toContain('y_seconds_count');
    expect(histogram.series('GET', '/a', '200')).not.toBe(ok);
  });
});

describe('slowest traces', () => {
  it('qualify a duration only while the buffer has room or holds something faster or expired', () => {
    const clock = new ManualClock();
    const buffer = new SlowestTraces(clock, 2, MINUTE_MS);
    const root = (name: string, ms: number) =>
      ({ name, kind: 1, spanContext: () => ({ traceId: name.padEnd(32, '0'), spanId: '1' }), parentSpanContext: undefined, startTime: [0, 0], duration: [0, ms * 1e6], status: { code: 0 }, attributes: {} }) as never;
    expect(buffer.qualifies(1)).toBe(true);
    buffer.onEnd(root('a', 10));
    buffer.onEnd(root('b', 20));
    expect(buffer.qualifies(5)).toBe(false);
    expect(buffer.qualifies(15)).toBe(true);
    buffer.onEnd(root('c', 5));
    expect(buffer.traces().map((t) => t.durationMs)).toEqual([20, 10]);
    clock.advance(2 * MINUTE_MS);
    expect(buffer.qualifies(1)).toBe(true);
  });

  it('name the span that dominates a trace by its own time, children excluded', () => {
    const span = (spanId: string, parentSpanId: string | undefined, durationMs: number, name = spanId) =>
      ({ name, spanId, parentSpanId, kind: 1, startTime: '', durationMs, status: 'unset', attributes: {} }) as const;
    // GET 100 ms = handler 10 + cache.load 85 (= statement 70 + decode 15) + auth 5
    const trace = {
      traceId: 't', root: 'GET /x', durationMs: 100, endedAt: 0,
      spans: [span('root', undefined, 100, 'GET /x'), span('load', 'root', 85, 'cache.load'), span('db', 'load', 70, 'db.query'), span('auth', 'root', 5)],
    };
    expect(dominantSpan(trace)).toMatchObject({ name: 'db.query', selfMs: 70, share: 0.7 });
    expect(dominantSpan({ ...trace, spans: [span('root', undefined, 100, 'GET /x'), span('auth', 'root', 5)] })).toMatchObject({ name: 'GET /x', selfMs: 95 });
  });
});

describe('trading counters', () => {
  it('export order outcomes, rejections by reason and fills as counters at scrape time', async () => {
    const metrics = new Metrics();
    const counts = new OrderCounts();
    registerTradingCounters(metrics, counts);
    counts.event('accepted', null);
    counts.event('partially_filled', null);
    counts.event('filled', null);
    counts.event('rejected', 'max_notional_exceeded');
    counts.rejected('order_rate_exceeded');
    const text = await metrics.text();
    expect(text).toContain('tachyon_orders_total{outcome="accepted"} 1\n');
    expect(text).toContain('tachyon_orders_total{outcome="filled"} 1\n');
    expect(text).toContain('tachyon_orders_total{outcome="rejected"} 2\n');
    expect(text).toContain('tachyon_order_rejections_total{reason="max_notional_exceeded"} 1\ntachyon_order_rejections_total{reason="order_rate_exceeded"} 1\n');
    expect(text).toContain('tachyon_fills_total 2\n');
    counts.event('filled', null);
    expect(await metrics.text()).toContain('tachyon_fills_total 3\n');
  });
});
