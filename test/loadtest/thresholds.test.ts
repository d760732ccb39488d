import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/loadtest/metrics.ts';
import { evaluateThresholds, parseThresholds } from '../../src/loadtest/thresholds.ts';

const START = 1_000_000;
const at = (sec: number): number => START + sec * 1000 + 500;

describe('threshold parsing', () => {
  it('parses k6 expressions, tag selectors, windows and abort options', () => {
    const [a, b, c, d] = parseThresholds({
      http_req_duration: ['p(99.9)<=500', 'avg<50'],
      'http_req_duration{endpoint:quotes, method:"GET"}': [{ threshold: 'p(95)<200 over any 30s', abortOnFail: true, delayAbortEval: '10s' }],
      http_reqs: ['count>1000'],
    });
    expect(a).toMatchObject({ metric: 'http_req_duration', aggregation: { kind: 'percentile', p: 99.9 }, operator: '<=', value: 500, abortOnFail: false });
    expect(b).toMatchObject({ aggregation: { kind: 'avg' }, operator: '<', value: 50 });
    expect(c).toMatchObject({ selector: { endpoint: 'quotes', method: 'GET' }, windowSeconds: 30, abortOnFail: true, delayAbortEvalMs: 10_000 });
    expect(d).toMatchObject({ metric: 'http_reqs', aggregation: { kind: 'count' }, operator: '>', value: 1000 });
  });

  it('rejects malformed thresholds with a 400-style error naming the culprit', () => {
    expect(() => parseThresholds({ http_req_duration: ['p95<200'] })).toThrow(/p95<200/);
    expect(() => parseThresholds({ http_req_duration: ['p(95)<200 over any 1.5s'] })).toThrow(/whole seconds/);
    expect(() => parseThresholds({ 'http_req_duration{endpoint}': ['avg<1'] })).toThrow(/tag selector/);
    expect(() => parseThresholds({ 'bad key!': ['avg<1'] })).toThrow(/threshold key/);
    expect(() => parseThresholds({ x: ['p(0)<1'] })).toThrow(/percentile/);
  });
});

describe('threshold evaluation', () => {
  it('judges trends, rates and counters, per tag selector', () => {
    const r = new MetricsRegistry(START);
    for (let i = 1; i <= 100; i++) r.addTrend('http_req_duration', { endpoint: 'quotes' }, i, at(0));
    for (let i = 0; i < 10; i++) r.addTrend('http_req_duration', { endpoint: 'orders' }, 1000, at(0));
    for (let i = 0; i < 100; i++) r.addRate('http_req_failed', {}, i < 2, at(0));
    r.addCounter('http_reqs', {}, 110, at(0));
    const results = evaluateThresholds(parseThresholds({
      'http_req_duration{endpoint:quotes}': ['p(95)<100', 'max<=100', 'med<60'],
      http_req_duration: ['p(95)<100'],
      http_req_failed: ['rate<0.01', 'rate<0.05'],
      http_reqs: ['count>=110', 'rate>100'],
      'custom_missing': ['avg<1'],
    }), r, { runSeconds: 1 });
    expect(results.map((x) => [x.source, x.passed])).toEqual([
      ['p(95)<100', true], ['max<=100', true], ['med<60', true],
      ['p(95)<100', false],
      ['rate<0.01', false], ['rate<0.05', true],
      ['count>=110', true], ['rate>100', true],
      ['avg<1', true],
    ]);
    expect(results[4]?.observed).toBeCloseTo(0.02);
    expect(results.at(-1)?.noData).toBe(true);
  });

  it('a sliding window catches a sustained breach that the whole-run percentile hides', () => {
    const r = new MetricsRegistry(START);
    // 100 s at 10 ms, except seconds 40–44 at 300 ms: 5% of samples, so whole-run p(95) stays low.
    for (let s = 0; s < 100; s++) {
      const slow = s >= 40 && s < 45;
      for (let i = 0; i < 100; i++) r.addTrend('http_req_duration', {}, slow ? 300 : 10, at(s));
    }
    const [whole, windowed, wideWindow] = evaluateThresholds(parseThresholds({
      http_req_duration: ['p(94)<200', 'p(94)<200 over any 10s', 'p(94)<200 over any 100s'],
    }), r, { runSeconds: 100 });
    expect(whole?.passed).toBe(true);
    expect(windowed?.passed).toBe(false);
    // Any 10 s window holding one slow second (10% of its samples) breaches p(94): windows starting 31–44.
    expect(windowed?.worstWindowStart).toBeGreaterThanOrEqual(31);
    expect(windowed?.worstWindowStart).toBeLessThanOrEqual(44);
    expect(windowed?.observed).toBeCloseTo(300, -1);
    expect(wideWindow?.passed).toBe(true);
  });

  it('rejects aggregations that do not apply to the metric kind', () => {
    const r = new MetricsRegistry(START);
    r.addRate('checks', {}, true, at(0));
    expect(() => evaluateThresholds(parseThresholds({ checks: ['p(95)<1'] }), r, { runSeconds: 1 })).toThrow(/does not apply/);
  });
});
