import { afterEach, describe, expect, it } from 'vitest';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { defineScenario } from '../../src/loadtest/scenario.ts';
import type { Progress } from '../../src/loadtest/progress.ts';
import { startServer } from './test-server.ts';
import type { TestServer } from './test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const slowGets = defineScenario({ options: { executor: { type: 'constant-vus', vus: 3, duration: '30s' } }, default: async (ctx) => void (await ctx.http.get('/slow')) });

describe('run control', () => {
  it('stops promptly when its AbortSignal fires, abandoning in-flight requests', async () => {
    server = await startServer(() => 5_000); // every request would hang 5 s
    const controller = new AbortController();
    setTimeout(() => controller.abort('user cancelled'), 300);
    const result = await runLoadTest(slowGets, { target: server.url, signal: controller.signal });
    // It returned while every request it sent was still held: in-flight requests were abandoned, not awaited.
    expect(server.requests()).toBeGreaterThan(0);
    expect(server.answered()).toBe(0);
    expect(result.status).toBe('aborted');
    expect(result.exitCode).toBe(105);
    expect(result.aborted).toEqual({ reason: 'signal', detail: 'user cancelled' });
  });

  it('aborts on a failing abortOnFail threshold and reports it', async () => {
    server = await startServer();
    const result = await runLoadTest(defineScenario({
      options: { executor: { type: 'constant-arrival-rate', rate: 50, duration: '30s' }, thresholds: { http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] } },
      default: async (ctx) => void (await ctx.http.get('/missing')),
    }), { target: server.url });
    // Stopped by the threshold, long before the 1,500 arrivals its 30 s schedule holds.
    expect((result.metrics.iterations as { count: number }).count).toBeLessThan(1_500);
    expect(result.aborted?.reason).toBe('threshold');
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(99);
    expect(result.thresholds[0]).toMatchObject({ passed: false, abortOnFail: true });
  });

  it('abandons iterations still running after the graceful stop, says verification was skipped, and a longer gracefulStop lets them finish', async () => {
    server = await startServer(() => 1_000); // every request is held 1 s
    let verified = 0;
    const scenario = defineScenario({
      options: { executor: { type: 'constant-vus', vus: 2, duration: '200ms' }, gracefulStop: '100ms' },
      default: async (ctx) => void (await ctx.http.get('/slow')),
      vuTeardown: () => void verified++,
    });
    const cut = await runLoadTest(scenario, { target: server.url });
    expect(verified).toBe(0);
    expect(cut.errors.map((e) => e.message)).toEqual([expect.stringMatching(/abandoned: vuTeardown \(per-VU verification\) skipped/)]);
    const whole = await runLoadTest(scenario, { target: server.url, gracefulStop: '30s' });
    expect(verified).toBe(2);
    expect(whole.errors).toEqual([]);
  });

  it('reports live progress', async () => {
    server = await startServer();
    const seen: Progress[] = [];
    await runLoadTest(defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 50, duration: '2s' } }, default: async (ctx) => void (await ctx.http.get('/')) }), {
      target: server.url,
      onProgress: (p) => seen.push(p),
    });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    // Every arrival is accounted for: sent, or dropped when no VU was free (a loaded machine).
    const last = seen.at(-1)!;
    expect(last.requests).toBeGreaterThan(0);
    expect(last.requests + last.dropped).toBe(100);
  });
});

describe('guardrails', () => {
  const quick = defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 10, duration: '1s' } }, default: async (ctx) => void (await ctx.http.get('/')) });

  it('refuses targets outside the allowed hosts (loopback by default)', async () => {
    await expect(runLoadTest(quick, { target: 'http://example.com' })).rejects.toMatchObject({ status: 422, code: 'loadtest_guardrail' });
    await expect(runLoadTest(quick, { target: 'ftp://127.0.0.1' })).rejects.toThrow(/http/);
    await expect(runLoadTest(quick, { target: 'not a url' })).rejects.toMatchObject({ status: 400 });
  });

  it('refuses rates, durations, VUs and workers beyond the limits', async () => {
    const g = { maxRate: 100, maxDurationMs: 60_000, maxVUs: 10, maxWorkers: 2 };
    await expect(runLoadTest(quick, { target: 'http://127.0.0.1:1', rate: 1000, guardrails: g })).rejects.toThrow(/rate 1000 exceeds/);
    await expect(runLoadTest(quick, { target: 'http://127.0.0.1:1', duration: '2m', guardrails: g })).rejects.toThrow(/duration_ms/);
    await expect(runLoadTest(quick, { target: 'http://127.0.0.1:1', vus: 50, guardrails: g })).rejects.toThrow(/vus 50 exceeds/);
    await expect(runLoadTest(quick, { target: 'http://127.0.0.1:1', workers: 2 })).rejects.toThrow(/module path/);
  });

  it('fails requests a scenario sends to a disallowed host instead of sending them', async () => {
    server = await startServer();
    const result = await runLoadTest(defineScenario({ options: { executor: { type: 'constant-arrival-rate', rate: 10, duration: '300ms' } }, default: async (ctx) => void (await ctx.http.get('http://example.com/')) }), { target: server.url });
    expect(result.errors[0]?.message).toMatch(/not in the allowed hosts/);
    expect(result.metrics.http_reqs).toBeUndefined();
  });

  it('applies overrides: rate switches to constant-arrival-rate, vus to constant-vus', async () => {
    const { resolveExecutor } = await import('../../src/loadtest/run.ts');
    expect(resolveExecutor({ type: 'constant-vus', vus: 5, duration: '10s', thinkTime: '1s' }, { rate: 20 })).toEqual({ type: 'constant-arrival-rate', rate: 20, duration: '10s' });
    expect(resolveExecutor({ type: 'constant-vus', vus: 5, duration: '10s', thinkTime: '1s' }, { vus: 8, duration: '5s' })).toEqual({ type: 'constant-vus', vus: 8, duration: '5s', thinkTime: '1s' });
    // A duration scales a ramp's stages to fit, keeping its shape (the tour's `--scenario spike --duration 30s`).
    expect(resolveExecutor({ type: 'ramping-vus', stages: [{ duration: '30s', target: 500 }, { duration: '1m', target: 500 }, { duration: '30s', target: 0 }] }, { duration: '30s' })).toEqual({
      type: 'ramping-vus',
      stages: [{ duration: 7500, target: 500 }, { duration: 15000, target: 500 }, { duration: 7500, target: 0 }],
    });
  });
});
