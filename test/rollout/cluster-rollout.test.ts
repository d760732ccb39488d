/**
 * Rollouts on `tachyon cluster` as real processes behind real HAProxy, under a steady load of quotes,
 * orders and portfolio reads: a blue-green switch and switch-back fail no request; a canary of a
 * deliberately slower build (the same code with 150 ms added to every request of the load's route classes
 * through TACHYON_FAULTS; the shared test machine's own latencies reach tens of milliseconds) is rolled back automatically at its first step with the numbers; a canary of the same
 * build passes every step and is promoted, its instances then serving alone. The CLI drives the last one.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollout } from '../../src/rollout/types.ts';
import { ADMIN_TOKEN, ClusterProcess, clusterPrerequisites, SteadyLoad, sleep } from '../cluster/support.ts';

const ready = await clusterPrerequisites();
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Short windows and few requests: enough for 40 ms to stand out, short enough for a test. */
const QUICK = { steps: [10, 50, 100], stepSeconds: 4, warmupSeconds: 8, maxWindows: 5, analysis: { minRequests: 40 } };
/** Concurrent users: enough canary requests at a 10% share within a short step. */
const USERS = 10;

describe.skipIf(!ready)('rollouts on tachyon cluster', () => {
  let cluster: ClusterProcess & { url: string };
  const api = async <T>(method: string, path: string, body?: object): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${cluster.url}/api/performance/rollouts${path}`, { method, headers: body ? { ...auth, 'content-type': 'application/json' } : auth, body: body && JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as T };
  };
  const until = async (id: number, done: (r: Rollout) => boolean, timeoutMs: number): Promise<Rollout> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api<Rollout>('GET', `/${id}`);
      if (done(body)) return body;
      if (Date.now() > deadline) throw new Error(`rollout ${id} is ${body.status} after ${timeoutMs} ms:\n${JSON.stringify(body, null, 1).slice(0, 3000)}\n${cluster.log.slice(-3000)}`);
      await sleep(250);
    }
  };

  beforeAll(async () => {
    cluster = await ClusterProcess.start(2, { port: 28400, statsPort: 28401, basePort: 28410 });
    // The controller's first heartbeat follows its start.
    for (let i = 0; i < 40 && (await api<{ controller: unknown }>('GET', '')).body.controller === null; i++) await sleep(250);
  }, 180_000);
  afterAll(async () => {
    expect(await cluster?.stop()).toBe(0);
  }, 120_000);

  it('refuses a bad request without a 5xx', async () => {
    expect((await api('POST', '', { version: { env: { NODE_OPTIONS: '--inspect' } } })).status).toBe(400);
    expect((await api('POST', '', { version: { env: {} }, steps: [50, 25, 100] })).status).toBe(400);
    expect((await api('GET', '/999999')).status).toBe(404);
  });

  it('switches blue-green and back under load, failing no request', async () => {
    const load = await SteadyLoad.start(cluster.url, 6);
    const { status, body } = await api<Rollout & { stable: Array<{ name: string }> }>('POST', '', { strategy: 'blue-green', version: { env: {}, label: 'green' } });
    expect(status).toBe(202);
    expect(body.stable.map((s) => s.name)).toEqual(['i1', 'i2']);
    expect((await api('POST', '', { version: { env: {} } })).status).toBe(409);
    const switched = await until(body.id, (r) => r.status === 'switched', 120_000);
    expect(switched.share).toBe(100);
    expect(switched.instances.map((i) => i.name)).toEqual([`g${body.id}-1`, `g${body.id}-2`]);
    const before = load.result.total;
    await load.atLeast(before + 300, 30_000);
    expect((await api('POST', `/${body.id}/abort`)).status).toBe(202);
    const back = await until(body.id, (r) => r.finishedAt !== null, 60_000);
    await load.atLeast(load.result.total + 200, 30_000);
    const result = await load.stop();
    expect(back.status).toBe('rolled-back');
    expect(back.reason).toBe('switched back by admin');
    expect(back.share).toBe(0);
    expect(result.failed, result.failures.join('\n')).toBe(0);
    expect(result.total).toBeGreaterThan(before + 300);
  }, 300_000);

  it('rolls a slower canary back at its first step, saying why with the numbers', async () => {
    const load = await SteadyLoad.start(cluster.url, USERS);
    const { body } = await api<Rollout>('POST', '', { ...QUICK, version: { env: { TACHYON_FAULTS: 'market-data:150,orders:150,portfolio:150' }, label: 'slow' } });
    const done = await until(body.id, (r) => r.finishedAt !== null, 180_000);
    const result = await load.stop();
    expect(done.status, done.reason ?? '').toBe('rolled-back');
    expect(done.steps).toHaveLength(1);
    const step = done.steps[0]!;
    expect(step).toMatchObject({ share: 10, outcome: 'failed' });
    expect(step.analysis!.verdict, JSON.stringify(step)).toBe('fail');
    const latency = step.analysis!.metrics.find((m) => m.metric === 'latency')!;
    expect(latency.passed).toBe(false);
    expect(latency.p).toBeLessThan(0.01);
    expect(done.reason).toMatch(/^step 10%: canary worse than stable: latency: latency p50 [\d.]+ ms vs [\d.]+ ms/);
    expect(done.instances).toEqual([]);
    expect((await api<{ controller: { stable: Array<{ name: string }> } }>('GET', '')).body.controller.stable.map((s) => s.name)).toEqual(['i1', 'i2']);
    expect(result.failed, result.failures.join('\n')).toBe(0);
  }, 300_000);

  // A canary joins owning no account shards, so it forwards every order and portfolio read (a stable instance
  // only its peers' share): the judge compares each instance's own time, without finding the owner and waiting for it
  // (quiet machine, 2026-11-25, before that: p95 189 vs 91.5 ms, p 4e-8, for a reason that was not the build).
  it('promotes a canary of the same build through every step (tachyon rollout)', async () => {
    const load = await SteadyLoad.start(cluster.url, USERS);
    // Asynchronous: the load runs in this process's event loop meanwhile.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/tachyon.js', 'rollout', ...args, '--target', cluster.url, '--admin-token', ADMIN_TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    const started = await cli('start', '--label', 'same', '--steps', QUICK.steps.join(','), '--step-seconds', String(QUICK.stepSeconds), '--warmup-seconds', String(QUICK.warmupSeconds), '--max-windows', String(QUICK.maxWindows), '--min-requests', String(QUICK.analysis.minRequests), '--watch');
    const result = await load.stop();
    const { body } = await api<{ rollouts: Rollout[] }>('GET', '?limit=1');
    const rollout = body.rollouts[0]!;
    expect(started.status, `${started.stdout}\n${started.stderr}\n${JSON.stringify(rollout, null, 1).slice(0, 4000)}`).toBe(0);
    expect(started.stdout).toContain(`rollout ${rollout.id} (canary of same): promoted`);
    expect(rollout.status).toBe('promoted');
    expect(rollout.steps.map((s) => [s.share, s.outcome])).toEqual([
      [10, 'passed'],
      [50, 'passed'],
      [100, 'promoted'],
    ]);
    for (const step of rollout.steps.slice(0, 2)) expect(step.analysis!.canaryRequests).toBeGreaterThanOrEqual(40);
    expect(rollout.reason).toBe('every step passed (10 → 50 → 100%)');
    const serving = `c${rollout.id}-1,c${rollout.id}-2`;
    expect((await api<{ controller: { stable: Array<{ name: string }> } }>('GET', '')).body.controller.stable.map((s) => s.name).join()).toBe(serving);
    const status = await cli('status');
    expect(status.stdout).toMatch(/step 10%: passed \(pass after \d+ window\(s\): \d+ canary, \d+ stable requests: [\d.]+% observed\)/);
    // Promotion stops the old instances: their accounts move, so orders in flight may see one handover (the #13 limit).
    expect(result.failed, result.failures.join('\n')).toBeLessThanOrEqual(1);
  }, 400_000);
});
