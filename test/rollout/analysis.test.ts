/**
 * The canary judge's statistics against hand-computed values and brute force, and its verdicts on
 * windows built the way the controller builds them (buckets from two scrapes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyse, DEFAULT_ANALYSIS } from '../../src/rollout/analysis.ts';
import { emptyWindow, mergeWindows, parsePrometheusText, quantileOf, snapshotOf, windowBetween, type WindowStats } from '../../src/rollout/instance-window.ts';
import { fisherGreater, mannWhitney, mannWhitneyBinned } from '../../src/rollout/statistics.ts';

describe('Mann-Whitney U', () => {
  it('matches the textbook value for two separated samples (scipy: asymptotic, continuity-corrected p 0.00609)', () => {
    const r = mannWhitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
    expect(r.u).toBe(25);
    expect(r.superiority).toBe(1);
    expect(r.p).toBeCloseTo(0.00609, 4);
    expect(mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p).toBeGreaterThan(0.99);
  });

  it('U on bins equals the brute-force pair count, ties counted half', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 40 }), (a, b) => {
        let pairs = 0;
        for (const x of a) for (const y of b) pairs += x > y ? 1 : x === y ? 0.5 : 0;
        const bins = (xs: number[]) => [0, 1, 2, 3, 4, 5, 6].map((v) => xs.filter((x) => x === v).length);
        expect(mannWhitneyBinned(bins(a), bins(b)).u).toBeCloseTo(pairs, 9);
        expect(mannWhitney(a, b).u).toBeCloseTo(pairs, 9);
      }),
      { seed: 21, numRuns: 200 },
    );
  });

  it('finds nothing between identical distributions and nothing when every value ties', () => {
    expect(mannWhitneyBinned([10, 50, 30], [20, 100, 60]).p).toBeGreaterThan(0.2);
    expect(mannWhitneyBinned([0, 7, 0], [0, 9, 0]).p).toBe(1);
    expect(mannWhitneyBinned([0, 0, 0], [1, 2, 3]).p).toBe(1);
  });
});

describe("Fisher's exact test", () => {
  it('matches the hypergeometric tail computed by hand', () => {
    // P(X ≥ 3) with 3 events in 20 trials, 10 in the first group: C(17,7)/C(20,10) = 19448/184756.
    expect(fisherGreater(3, 10, 0, 10)).toBeCloseTo(19448 / 184756, 8);
    expect(fisherGreater(0, 10, 3, 10)).toBe(1);
    expect(fisherGreater(0, 100, 0, 100)).toBe(1);
    expect(fisherGreater(30, 1000, 5, 10000)).toBeLessThan(1e-10);
  });
});

const BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, Infinity];
function window(counts: number[], extra: Partial<WindowStats> = {}): WindowStats {
  const requests = counts.reduce((a, b) => a + b, 0);
  return { ...emptyWindow(BOUNDS), counts, requests, loopP99: [0.011, 0.012, 0.011, 0.013, 0.012, 0.011], ...extra };
}

describe('analyse', () => {
  it('passes a canary whose traffic looks like the stable traffic', () => {
    const a = analyse(window([100, 400, 300, 150, 40, 10, 0]), window([310, 1190, 905, 440, 125, 30, 0]));
    expect(a.verdict).toBe('pass');
    expect(a.metrics.map((m) => m.metric)).toEqual(['latency', 'p95', 'p99', 'errorRate', 'orderRejections', 'eventLoopDelay']);
  });

  it('fails a slower canary with its numbers, and names the metric', () => {
    const a = analyse(window([0, 10, 40, 500, 400, 50, 0]), window([310, 1190, 905, 440, 125, 30, 0]));
    expect(a.verdict).toBe('fail');
    const latency = a.metrics.find((m) => m.metric === 'latency')!;
    expect(latency.passed).toBe(false);
    expect(latency.effect).toBeGreaterThan(0.8);
    expect(a.reason).toMatch(/^canary worse than stable: latency: latency p50 .* ms vs .* ms, P\(canary slower\) 0\.\d+, Mann-Whitney p/);
  });

  it('fails a canary with more errors or rejections; a small excess is within chance', () => {
    const stable = window([310, 1190, 905, 440, 125, 30, 0], { errors: 1, orders: 1000, rejections: 20 });
    expect(analyse(window([100, 400, 300, 150, 40, 10, 0], { errors: 25, orders: 330, rejections: 7 }), stable).metrics.find((m) => m.metric === 'errorRate')!.passed).toBe(false);
    expect(analyse(window([100, 400, 300, 150, 40, 10, 0], { errors: 1, orders: 330, rejections: 60 }), stable).metrics.find((m) => m.metric === 'orderRejections')!.passed).toBe(false);
    expect(analyse(window([100, 400, 300, 150, 40, 10, 0], { errors: 1, orders: 330, rejections: 9 }), stable).verdict).toBe('pass');
  });

  it('fails a canary whose slow tail grew while its median did not', () => {
    const a = analyse(window([100, 400, 300, 100, 40, 40, 20]), window([310, 1190, 905, 440, 125, 30, 0]));
    expect(a.metrics.find((m) => m.metric === 'p99')!.passed).toBe(false);
    expect(a.metrics.find((m) => m.metric === 'latency')!.passed).toBe(true);
  });

  it('fails a canary whose event loop stalls more', () => {
    const a = analyse(window([100, 400, 300, 150, 40, 10, 0], { loopP99: [0.05, 0.06, 0.08, 0.07, 0.05, 0.09, 0.06, 0.07] }), window([310, 1190, 905, 440, 125, 30, 0]));
    expect(a.metrics.find((m) => m.metric === 'eventLoopDelay')!.passed).toBe(false);
  });

  it('passes an event loop that is significantly but only slightly slower (two processes sharing cores)', () => {
    const a = analyse(window([100, 400, 300, 150, 40, 10, 0], { loopP99: [0.044, 0.046, 0.047, 0.045, 0.048, 0.046, 0.049, 0.047] }), window([310, 1190, 905, 440, 125, 30, 0], { loopP99: [0.028, 0.029, 0.03, 0.029, 0.031, 0.028, 0.03, 0.029] }));
    const loop = a.metrics.find((m) => m.metric === 'eventLoopDelay')!;
    expect(loop.p).toBeLessThan(DEFAULT_ANALYSIS.alpha);
    expect(loop.passed).toBe(true);
  });

  it('is inconclusive with too little canary traffic', () => {
    const a = analyse(window([1, 2, 3, 0, 0, 0, 0]), window([310, 1190, 905, 440, 125, 30, 0]));
    expect(a.verdict).toBe('inconclusive');
    expect(a.reason).toContain(`at least ${DEFAULT_ANALYSIS.minRequests}`);
  });
});

describe('windows from /metrics', () => {
  const text = (n: number, slow: number) => `# HELP tachyon_http_request_duration_seconds x
# TYPE tachyon_http_request_duration_seconds histogram
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/market-data/quotes/:symbol",status_code="200",le="0.01"} ${n}
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/market-data/quotes/:symbol",status_code="200",le="0.1"} ${n + slow}
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/market-data/quotes/:symbol",status_code="200",le="+Inf"} ${n + slow}
tachyon_http_request_duration_seconds_count{method="GET",route="/api/market-data/quotes/:symbol",status_code="200"} ${n + slow}
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/health/ready",status_code="200",le="0.01"} 999
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/health/ready",status_code="200",le="0.1"} 999
tachyon_http_request_duration_seconds_bucket{method="GET",route="/api/health/ready",status_code="200",le="+Inf"} 999
tachyon_http_request_duration_seconds_count{method="GET",route="/api/health/ready",status_code="200"} 999
tachyon_http_request_duration_seconds_count{method="POST",route="/api/orders",status_code="503"} 2
tachyon_orders_total{outcome="accepted"} ${n}
tachyon_orders_total{outcome="filled"} ${n}
tachyon_order_rejections_total{reason="max_notional_exceeded"} 3
nodejs_eventloop_lag_p99_seconds 0.0123
`;

  it('diffs two scrapes into bucket counts, leaving health checks out', () => {
    const start = snapshotOf(parsePrometheusText(text(10, 1)), 0);
    const end = snapshotOf(parsePrometheusText(text(110, 21)), 1000);
    expect(start.loopP99).toBe(0.0123);
    const w = windowBetween(start, end, [0.01, 0.02]);
    expect(w).toEqual({ bounds: [0.01, 0.1, Infinity], counts: [100, 20, 0], requests: 120, errors: 0, orders: 100, rejections: 0, loopP99: [0.01, 0.02] });
    expect(quantileOf(w, 0.5)).toBeCloseTo(0.006, 9);
    expect(mergeWindows([w, w]).counts).toEqual([200, 40, 0]);
  });

  it("counts a forwarded request at this instance's own time, without the round trip to the owner", () => {
    // 30 orders, all forwarded: 0.1 s in all (above 0.01), 0.01 s or less here (the rest was the owner's).
    const forwarded = (n: number) => `tachyon_http_request_duration_seconds_bucket{method="POST",route="/api/orders",status_code="201",le="0.01"} 0
tachyon_http_request_duration_seconds_bucket{method="POST",route="/api/orders",status_code="201",le="0.1"} ${n}
tachyon_http_request_duration_seconds_bucket{method="POST",route="/api/orders",status_code="201",le="+Inf"} ${n}
tachyon_http_request_duration_seconds_count{method="POST",route="/api/orders",status_code="201"} ${n}
${['total', 'own'].map((time) => `tachyon_http_forwarded_request_duration_seconds_bucket{route="/api/orders",time="${time}",le="0.01"} ${time === 'own' ? n : 0}
tachyon_http_forwarded_request_duration_seconds_bucket{route="/api/orders",time="${time}",le="0.1"} ${n}
tachyon_http_forwarded_request_duration_seconds_bucket{route="/api/orders",time="${time}",le="+Inf"} ${n}`).join('\n')}
`;
    const w = windowBetween(snapshotOf(parsePrometheusText(text(10, 1) + forwarded(0)), 0), snapshotOf(parsePrometheusText(text(110, 21) + forwarded(30)), 1000), []);
    expect(w.counts).toEqual([130, 20, 0]);
    expect(w.requests).toBe(150);
  });

  it('counts a restarted instance from zero', () => {
    const w = windowBetween(snapshotOf(parsePrometheusText(text(500, 0)), 0), snapshotOf(parsePrometheusText(text(10, 1)), 1000), []);
    expect(w.requests).toBe(13);
    expect(w.errors).toBe(2);
    expect(w.rejections).toBe(3);
  });
});

describe('traffic split', () => {
  it('gives the new version its share by weights, evenly within each group', async () => {
    const { weightsFor, canaryCount } = await import('../../src/rollout/controller.ts');
    const w = weightsFor(5, ['i1', 'i2'], ['c1']);
    expect(w.get('c1')! / (w.get('c1')! + w.get('i1')! + w.get('i2')!)).toBeCloseTo(0.05, 2);
    expect([...weightsFor(100, ['i1', 'i2'], ['g1', 'g2'])]).toEqual([['i1', 0], ['i2', 0], ['g1', 256], ['g2', 256]]);
    expect([...weightsFor(0, ['i1'], ['c1'])]).toEqual([['i1', 256], ['c1', 0]]);
    // No canary carries more than a stable instance.
    expect([5, 25, 50, 75].map((share) => canaryCount(share, 2, 1))).toEqual([1, 1, 2, 6]);
    expect(canaryCount(50, 3, 1)).toBe(3);
  });
});
