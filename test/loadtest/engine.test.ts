import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { defineScenario } from '../../src/loadtest/scenario.ts';
import { startServer } from './test-server.ts';
import type { TestServer } from './test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const getQuotes = async (ctx: { http: { get: (u: string, o?: object) => Promise<unknown> } }): Promise<void> => {
  await ctx.http.get('/quotes', { tags: { endpoint: 'quotes' } });
};

describe('open model', () => {
  it('accounts for exactly rate × duration arrivals, sent or dropped, never ahead of the rate', async () => {
    server = await startServer();
    const result = await runLoadTest(defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 100, duration: '2s' } }, default: getQuotes }), { target: server.url });
    // Every one of the 200 scheduled arrivals either ran (one request) or, on a machine too busy to start
    // it in time, was dropped and counted (k6's dropped_iterations): none is lost or sent twice.
    const sent = (result.metrics.iterations as { count: number }).count;
    const dropped = (result.metrics.dropped_iterations as { count: number }).count;
    expect(sent + dropped).toBe(200);
    expect(sent).toBeGreaterThan(0);
    expect(server.requests()).toBe(sent);
    expect(result.metrics.http_reqs).toMatchObject({ kind: 'counter', count: sent });
    // Never ahead of the schedule; how far behind depends on the machine's load, so no lower bound here.
    expect((result.metrics.http_reqs as { rate: number }).rate).toBeLessThan(110);
    expect(result.endpoints[0]).toMatchObject({ method: 'GET', endpoint: 'quotes', requests: sent, failedRate: 0 });
    expect(result.timeline.reduce((n, p) => n + p.requests, 0)).toBe(sent);
    if (dropped === 0) expect(result).toMatchObject({ status: 'passed', exitCode: 0 });
  });

  it('drops the arrivals that find every VU busy and counts them in dropped_iterations (k6), timing what runs from its due time', async () => {
    // The server holds every request that arrives in a 600 ms window until the window ends.
    const STALL_MS = 600;
    const stallStart = Date.now() + 1000;
    const stallEnd = stallStart + STALL_MS;
    server = await startServer((t) => (t >= stallStart && t < stallEnd ? stallEnd - t : 0));
    // 2 VUs: during the stall both are stuck, so the arrivals due then find no free VU.
    const result = await runLoadTest(defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 100, duration: '3s', maxVUs: 2 } }, default: getQuotes }), { target: server.url });
    const iterations = (result.metrics.iterations as { count: number }).count;
    const dropped = (result.metrics.dropped_iterations as { count: number }).count;
    // Every scheduled arrival either ran (one request each) or was dropped: none waited in a queue.
    expect(iterations + dropped).toBe(300);
    expect(server.requests()).toBe(iterations);
    // ~60 arrivals were due in the stall; the two held VUs took two of them.
    expect(dropped).toBeGreaterThan(20);
    const corrected = result.metrics.http_req_duration as { max: number; count: number };
    const service = result.metrics.http_req_service_time as { max: number };
    expect(corrected.count).toBe(iterations);
    // The held requests show the stall in both the intended-start and the service latency.
    expect(corrected.max).toBeGreaterThan(STALL_MS * 0.7);
    expect(service.max).toBeGreaterThan(STALL_MS * 0.7);
  });

  it('reports dropped_iterations as 0 when every arrival found a VU, and a threshold can require it', async () => {
    server = await startServer();
    const result = await runLoadTest(
      defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 50, duration: '1s', maxVUs: 50 }, thresholds: { dropped_iterations: ['count<1'] } }, default: getQuotes }),
      { target: server.url },
    );
    expect(result.metrics.dropped_iterations).toMatchObject({ kind: 'counter', count: 0 });
    expect(result.thresholds).toEqual([expect.objectContaining({ key: 'dropped_iterations', passed: true, noData: false })]);
    expect(result.metrics.iterations).toMatchObject({ count: 50 });
  });
});

describe('closed model', () => {
  it('follows ramping-vus stages: ramps up, holds, ramps down', async () => {
    server = await startServer(() => 20);
    let active = 0;
    const samples: Array<{ t: number; active: number }> = [];
    const ids = new Set<number>();
    const t0 = Date.now();
    const scenario = defineScenario({
      options: { executor: { type: 'ramping-vus', startVUs: 0, stages: [{ duration: '1s', target: 4 }, { duration: '1500ms', target: 4 }, { duration: '1s', target: 0 }] } },
      default: async (ctx) => {
        active++;
        ids.add(ctx.vu.id);
        samples.push({ t: Date.now() - t0, active });
        await ctx.http.get('/quotes');
        active--;
      },
    });
    const result = await runLoadTest(scenario, { target: server.url });
    expect([...ids].sort()).toEqual([1, 2, 3, 4]);
    expect(Math.max(...samples.map((s) => s.active))).toBeLessThanOrEqual(4);
    const hold = samples.filter((s) => s.t > 1300 && s.t < 2300);
    expect(Math.max(...hold.map((s) => s.active))).toBe(4);
    const early = samples.filter((s) => s.t < 200);
    expect(Math.max(0, ...early.map((s) => s.active))).toBeLessThanOrEqual(2);
    expect(result.model).toBe('closed');
  });

  it('applies think time between a VU\'s iterations', async () => {
    server = await startServer();
    const result = await runLoadTest(defineScenario({ options: { executor: { type: 'constant-vus', vus: 2, duration: '1s', thinkTime: '200ms' } }, default: getQuotes }), { target: server.url });
    // 2 VUs × (1 s / 200 ms) is at most 12 iterations however fast the machine; without think time it would be thousands.
    const count = (result.metrics.iterations as { count: number }).count;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(12);
  });
});

describe('scenario API', () => {
  it('records checks, custom trends/counters/rates and per-VU state, and judges thresholds on them', async () => {
    server = await startServer();
    const result = await runLoadTest(defineScenario({
      options: {
        executor: { type: 'constant-vus', vus: 2, duration: '1s', thinkTime: '50ms' },
        tags: { suite: 'unit' },
        thresholds: { 'order_ack_latency{side:buy}': ['p(99)<1000'], fills: ['count>0'], checks: ['rate>0.99'], 'http_req_failed{endpoint:/missing}': ['rate<0.5'] },
      },
      setup: () => ({ token: 'abc' }),
      default: async (ctx) => {
        const state = ctx.vu.state as { n?: number };
        state.n = (state.n ?? 0) + 1;
        const res = await ctx.http.post('/orders', { side: 'buy' }, { tags: { endpoint: 'orders' } });
        ctx.check(res, { 'status 200': (r) => r.status === 200, 'has token': () => (ctx.data as { token: string }).token === 'abc', 'state kept': () => state.n === ctx.vu.iteration });
        ctx.metrics.trend('order_ack_latency').add(res.durationMs, { side: 'buy' });
        ctx.metrics.counter('fills').add(1);
        ctx.metrics.rate('fill_ok').add(true);
        await ctx.http.get('/missing');
      },
    }), { target: server.url });
    expect(result.metrics.checks).toMatchObject({ kind: 'rate', rate: 1 });
    expect(result.metrics.order_ack_latency?.kind).toBe('trend');
    expect(result.series['order_ack_latency{side:buy,suite:unit}']).toBeDefined();
    expect(result.metrics.fill_ok).toMatchObject({ rate: 1 });
    expect(result.thresholds.map((t) => t.passed)).toEqual([true, true, true, false]);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(99);
  });

  it('runs vuTeardown once per VU with its state; its requests are not load, its metrics are', async () => {
    server = await startServer();
    const seen: number[] = [];
    const result = await runLoadTest(defineScenario({
      options: { executor: { type: 'constant-vus', vus: 3, duration: '300ms', thinkTime: '50ms' } },
      setup: (ctx) => ({ vus: ctx.vus }),
      default: async (ctx) => {
        (ctx.vu.state as { n?: number }).n = ((ctx.vu.state as { n?: number }).n ?? 0) + 1;
        await ctx.http.get('/quotes');
      },
      vuTeardown: async (ctx) => {
        seen.push(ctx.vu.id);
        await ctx.http.get('/verify');
        ctx.metrics.counter('verified').add((ctx.vu.state as { n: number }).n);
        ctx.check(ctx.data, { 'setup saw the VU count': (d) => (d as { vus: number }).vus === 3 });
      },
    }), { target: server.url });
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(result.metrics.verified).toMatchObject({ count: (result.metrics.iterations as { count: number }).count });
    expect(result.metrics.checks).toMatchObject({ rate: 1 });
    expect(result.endpoints.map((e) => e.endpoint)).toEqual(['/quotes']);
  });

  it('runs in worker threads and merges their metrics exactly', async () => {
    server = await startServer();
    const scenario = fileURLToPath(new URL('./fixtures/get-scenario.ts', import.meta.url));
    const result = await runLoadTest(scenario, { target: server.url, workers: 2 });
    // 400 arrivals over both threads: each ran once (one request) or was dropped by its thread when
    // all of that thread's VUs were busy (a loaded machine); the merged counts agree with the server's.
    const ran = server.requests();
    expect(result.workers).toBe(2);
    expect(ran).toBeGreaterThan(0);
    expect(result.metrics.iterations).toMatchObject({ count: ran });
    expect(ran + (result.metrics.dropped_iterations as { count: number }).count).toBe(400);
    expect(result.metrics.http_reqs).toMatchObject({ count: ran });
    expect(result.metrics.http_req_duration).toMatchObject({ count: ran });
    expect(result.metrics.order_ack_latency).toMatchObject({ count: ran });
    expect(result.status).toBe('passed');
  });
});
