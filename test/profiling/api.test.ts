import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform(pglite, { profiling: { ...testConfig().profiling, maxDurationMs: 20_000 } });
});
afterAll(() => t.close());

/**
 * The hot function the CPU profile must name: pure arithmetic, in slices so timers still run. A fixed
 * amount of work (about 50 ms of CPU a slice), not a wall-clock span: at load 25 a 50 ms span held
 * 11 ms of CPU, and the profiler's own start outweighed the loop.
 */
function hotLoopForProfile(rounds: number): number {
  let x = 0;
  for (let round = 0; round < rounds; round++) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

describe('profiling API', () => {
  it('is for admins only', async () => {
    for (const [method, url] of [['GET', '/api/performance/profiling'], ['POST', '/api/performance/profiling/start'], ['GET', '/performance/memory/leaks']] as const) {
      const res = await t.platform.app.inject({ method, url, headers: t.trader, payload: method === 'POST' ? { kind: 'cpu' } : undefined });
      expect(res.statusCode, url).toBe(403);
    }
  });

  it('refuses bad input with 4xx problems', async () => {
    for (const payload of [{ kind: 'flame' }, { kind: 'cpu', durationMs: 'Infinity' }, { kind: 'cpu', durationMs: 10 }, { kind: 'cpu', durationMs: 3_600_000 }, { kind: 'cpu', extra: 1 }]) {
      const res = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/start', headers: t.admin, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const stop = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/stop', headers: t.admin });
    expect(stop.statusCode).toBe(409);
  });

  it('a CPU profile names the hot function and downloads as a .cpuprofile', async () => {
    const start = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/start', headers: t.admin, payload: { kind: 'cpu', durationMs: 15_000 } });
    expect(start.statusCode).toBe(202);
    const { id } = start.json<{ id: string }>();
    for (let i = 0; i < 20; i++) {
      hotLoopForProfile(1_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stop = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/stop', headers: t.admin });
    expect(stop.statusCode).toBe(200);
    const session = stop.json<{ id: string; state: string; summary: { topSelf: Array<{ frame: string; share: number }> } }>();
    expect(session).toMatchObject({ id, state: 'completed' });
    // Among the top three: on a loaded machine a frame sampled just before the thread was descheduled is charged the wait.
    expect(session.summary.topSelf.slice(0, 3).map((f) => f.frame)).toContainEqual(expect.stringMatching(/^hotLoopForProfile \(test\/profiling\/api\.test\.ts:\d+\)$/));

    const list = await t.platform.app.inject({ url: '/performance/profiling', headers: t.admin });
    expect(list.json<{ sessions: Array<{ id: string }> }>().sessions[0]!.id).toBe(id);
    const download = await t.platform.app.inject({ url: `/api/performance/profiling/${id}/download`, headers: t.admin });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-disposition']).toBe(`attachment; filename="${id}.cpuprofile"`);
    const profile = download.json<{ nodes: unknown[]; samples: number[] }>();
    expect(profile.nodes.length).toBeGreaterThan(10);
    expect(profile.samples.length).toBeGreaterThan(10);
  });

  it('a CPU profile covers worker threads too: each has its own summary and file', async () => {
    // A worker busy in a named function, like an analysis pool thread running a backtest.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       function burnInWorker() { let x = 0; for (let i = 0; i < 2e6; i++) x = (x * 31 + i) % 1000003; return x; }
       const timer = setInterval(burnInWorker, 1);
       parentPort.once('message', () => { clearInterval(timer); parentPort.close(); });`,
      { eval: true },
    );
    try {
      await new Promise((resolve) => worker.once('online', resolve));
      const start = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/start', headers: t.admin, payload: { kind: 'cpu', durationMs: 15_000 } });
      const { id } = start.json<{ id: string }>();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const stop = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/stop', headers: t.admin });
      const session = stop.json<{ threads: Array<{ thread: string; fileName: string; summary: { topSelf: Array<{ frame: string }> } }> }>();
      const busy = session.threads.find((thread) => thread.summary.topSelf.some((f) => f.frame.startsWith('burnInWorker')));
      expect(busy, JSON.stringify(session.threads.map((th) => th.thread))).toBeDefined();
      const download = await t.platform.app.inject({ url: `/api/performance/profiling/${id}/download?thread=${encodeURIComponent(busy!.thread)}`, headers: t.admin });
      expect(download.statusCode).toBe(200);
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${busy!.fileName}"`);
      expect(download.json<{ nodes: unknown[] }>().nodes.length).toBeGreaterThan(2);
      const missing = await t.platform.app.inject({ url: `/api/performance/profiling/${id}/download?thread=nope`, headers: t.admin });
      expect(missing.statusCode).toBe(404);
    } finally {
      worker.postMessage('stop');
      await worker.terminate();
    }
  });

  it('a heap sampling profile names the allocation site', async () => {
    await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/start', headers: t.admin, payload: { kind: 'heap-sampling', durationMs: 15_000 } });
    const kept: number[][] = [];
    const allocateForProfile = () => {
      for (let i = 0; i < 20_000; i++) kept.push(new Array(16).fill(i));
    };
    allocateForProfile();
    const stop = await t.platform.app.inject({ method: 'POST', url: '/api/performance/profiling/stop', headers: t.admin });
    const sites = stop.json<{ summary: { topSites: Array<{ frame: string }> } }>().summary.topSites;
    expect(sites[0]!.frame).toMatch(/^allocateForProfile \(/);
    expect(kept.length).toBe(20_000);
  });

  it('reports the post-GC heap watch', async () => {
    const res = await t.platform.app.inject({ url: '/api/performance/memory/leaks', headers: t.admin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ diagnosing: false, suspected: false, trend: { samples: expect.any(Number) }, lastReport: null });
  });
});
