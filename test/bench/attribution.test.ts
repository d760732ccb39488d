/**
 * bench:attribution on a tiny run (one round, one-second probes, one probe per search, four VUs without a
 * WebSocket session: the run is about the rows, not the figures) against a whole platform built
 * in-process: a row per registered flag (optimizations measured off alone, instrumentation held at its
 * default) with a throughput at equal p95, the all-on / all-off ratio at saturation, and every flag back
 * to its configured state. The search itself is tested on a synthetic server with a known capacity.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ALL_OFF, ALL_ON, runAttribution, searchMaxRate, type AttributionResult, type Probe } from '../../bench/support/attribution.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

let tp: TestPlatform;
let result: AttributionResult;

beforeAll(async () => {
  tp = await startTestPlatform(pglite);
  const target = await tp.platform.listen();
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  // A generous fixed target: the tiny run is about the rows; one probe per search keeps it short.
  result = await runAttribution({
    target,
    adminToken: ADMIN_TOKEN,
    startRate: 2,
    seconds: 1,
    rounds: 1,
    vus: 4,
    websocket: 0,
    perFlag: true,
    p95TargetMs: 60_000,
    maxProbes: 1,
    // No idle CPU subtracted: in this process the platform's feed and timers share the CPU count, and a
    // 1 s probe of a few requests can cost less than one idle second did (CPU per request then read 0: s10-5).
    idleSeconds: 0,
    cpuSeconds: cpu,
    rssBytes: () => process.memoryUsage().rss,
  });
}, 600_000);
afterAll(() => tp?.close());

it('produces a row per registered flag, with figures and an honest verdict', () => {
  const registered = tp.platform.flags.list().map((f) => f.name);
  expect(registered.length).toBeGreaterThan(5);
  expect(result.flags.map((f) => f.flag)).toEqual(registered);
  const optimizations = result.flags.filter((f) => f.kind === 'optimization');
  // Metrics, traces and logs are features that cost: "all off" keeps them, so it is the product without its optimizations.
  expect(result.flags.filter((f) => f.kind === 'instrumentation').map((f) => f.flag)).toEqual(
    expect.arrayContaining(['observability.http', 'observability.tracing', 'observability.logs', 'observability.plan-sampling']),
  );
  expect(optimizations.map((f) => f.flag)).toEqual(expect.arrayContaining(['cache.enabled', 'http.etag', 'observability.lazy-traces']));
  for (const row of result.flags) {
    expect(row.cpuMsPerRequest.on, row.flag).toBeGreaterThan(0);
    if (row.kind === 'instrumentation') {
      expect(row.verdict, row.flag).toBe('instrumentation');
      expect(result.configs[`${row.flag} off`], row.flag).toBeUndefined();
      continue;
    }
    expect(Number.isFinite(row.p95Ms.off), row.flag).toBe(true);
    expect(row.maxRequestsPerSecond.off, row.flag).toBeGreaterThan(0);
    expect(row.throughputVsAllOn, row.flag).toBeGreaterThan(0);
    // One round cannot be ranked against the noise: it says so instead of guessing.
    expect(row.verdict, row.flag).toBe('too few rounds');
  }
  expect(Object.keys(result.configs)).toEqual([ALL_ON, ALL_OFF, ...optimizations.map((f) => `${f.flag} off`)]);
  for (const [config, runs] of Object.entries(result.saturation)) {
    expect(runs, config).toHaveLength(1);
    expect(runs[0]!.rate, config).toBeGreaterThan(0);
    expect(runs[0]!.requestsPerSecond, config).toBeGreaterThan(0);
  }
  expect(result.p95TargetMs).toBe(60_000);
  expect(result.allOnOverAllOff.throughput).toBeGreaterThan(0);
  expect(result.allOnOverAllOff.capacity).toBeGreaterThan(0);
  expect(result.allOnOverAllOff.verdict).toBe('too few rounds');
  // Back to configuration: no shared state left, each flag at its default.
  expect(tp.platform.flags.list().every((f) => f.source === 'default' && f.enabled === f.default)).toBe(true);
});

/** A server that keeps its p95 under the target up to `capacity` operations/s (but stalls once at each rate of `stalls`), and a probe of it. */
function synthetic(capacity: number, stalls: number[] = []) {
  const rates: number[] = [];
  const probe = async (rate: number): Promise<Probe> => {
    const stalled = stalls.includes(rate) && !rates.includes(rate);
    rates.push(rate);
    const passed = rate <= capacity && !stalled;
    const figures = { requests: rate, requestsPerSecond: rate, p50Ms: 1, p95Ms: passed ? 5 : 500, p99Ms: 1, failedRate: 0, errorRate: 0, droppedRate: 0, cpuMsPerRequest: 1, grossCpuMsPerRequest: 1, rssMiB: 1 };
    return { ...figures, rate, passed, why: passed ? '' : 'p95 500 ms > 10 ms' };
  };
  return { rates, probe };
}

it('brackets the capacity by stepping, confirms each miss, then bisects to the precision', async () => {
  // A stall at 125 is probed again (and passes); 156 misses twice; then midpoints between the highest pass and the lowest failure.
  const up = synthetic(130, [125]);
  const found = await searchMaxRate(up.probe, 100, { step: 1.25, precision: 1.05, maxProbes: 12 });
  expect(up.rates.slice(0, 5)).toEqual([100, 125, 125, 156, 156]);
  expect(found.best!.rate).toBeLessThanOrEqual(130);
  expect(found.best!.rate * 1.05).toBeGreaterThanOrEqual(found.failedAt!);
  expect(found.failedAt).toBeGreaterThan(130);

  // From above: steps down until a pass; a pass already measured (the equal-rate run) ends a walk that reaches it.
  const down = synthetic(30);
  const floor = await down.probe(28);
  down.rates.length = 0;
  const below = await searchMaxRate(down.probe, 40, { step: 1.25, precision: 1.3, floor });
  expect(down.rates).toEqual([40, 40, 32, 32]);
  expect(below).toMatchObject({ best: floor, failedAt: 32, probes: 4 });

  // Out of probes before a failure: the best pass is a lower bound (failedAt null).
  const bounded = await searchMaxRate(synthetic(1_000).probe, 10, { maxProbes: 3 });
  expect(bounded).toMatchObject({ best: { rate: 16 }, failedAt: null, probes: 3 });
});
