/**
 * `tachyon cluster --instances 1 --autoscale` as real processes behind real HAProxy: WebSocket
 * clients over a target made easy to exceed scale the cluster up, and it scales down once they leave,
 * while a steady load of orders and reads sees no failed request during either; the history records
 * both with their inputs; a manual count through the API is applied and recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScalingEvent } from '../../src/scaling/store.ts';
import { ADMIN_TOKEN, ClusterProcess, clusterPrerequisites, DEMO_TOKEN, SteadyLoad, sleep } from '../cluster/support.ts';
import { rawSocket, wsUrl } from '../realtime/support.ts';

const ready = await clusterPrerequisites();
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

describe.skipIf(!ready)('tachyon cluster --autoscale', () => {
  let cluster: ClusterProcess & { url: string };
  const api = async <T>(method: string, path: string, body?: object): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${cluster.url}/api/performance/scaling/${path}`, { method, headers: admin, body: body && JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as T };
  };
  const history = async () => {
    const { status, body } = await api<{ events: ScalingEvent[] }>('GET', 'history');
    if (status !== 200) throw new Error(`history answered ${status}: ${JSON.stringify(body)}\n${cluster.log.slice(-3000)}`);
    return body.events;
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms:\n${cluster.log.slice(-3000)}`);
      await sleep(500);
    }
  };

  beforeAll(async () => {
    cluster = await ClusterProcess.start(1, { port: 28700, statsPort: 28701, basePort: 28710 }, {
      args: ['--autoscale', '--autoscale-interval', '1'],
      // The test is about scaling: load shedding (503 above 50 ms of event-loop delay) would fail requests on a busy machine.
      env: { TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0' },
    });
  }, 180_000);
  afterAll(async () => {
    expect(await cluster?.stop()).toBe(0);
  }, 90_000);

  it('scales up under load and down after it, failing no request, and records both', async () => {
    await until('a first evaluation', async () => ((await api<{ mode: string }>('GET', 'status')).body.mode === 'cluster' ? true : undefined), 30_000);
    // WebSocket connections drive the decision: unlike CPU on a shared machine, the test sets them exactly.
    const put = await api('PUT', 'config', {
      minInstances: 1,
      maxInstances: 2,
      targets: { websocketConnections: 4 },
      scaleDown: { stabilizationWindowMs: 5_000, selectPolicy: 'Max', cooldownMs: 0, policies: [{ type: 'instances', value: 1, periodMs: 1_000 }] },
    });
    expect(put.status).toBe(200);

    // Orders, quotes and portfolio reads through HAProxy during both changes: none may fail.
    const load = await SteadyLoad.start(cluster.url, 4);
    const sockets = await Promise.all(Array.from({ length: 12 }, () => rawSocket(wsUrl(cluster.url), { headers: { authorization: `Bearer ${DEMO_TOKEN}` } })));
    const up = await until('a scale-up', async () => (await history()).find((e) => e.trigger === 'metrics' && e.from === 1 && e.to === 2), 120_000);
    for (const ws of sockets) ws.socket.close();
    const down = await until('a scale-down', async () => (await history()).find((e) => e.trigger === 'metrics' && e.from === 2 && e.to === 1), 120_000);
    const result = await load.stop();

    expect(result.failed, result.failures.join('\n')).toBe(0);
    expect(result.total).toBeGreaterThan(0);
    // The autoscaler samples on its own schedule: it may decide while the last sockets are still opening.
    const seen = up.metrics.websocketConnections as number;
    expect(seen).toBeGreaterThan(4);
    expect(seen).toBeLessThanOrEqual(12);
    expect(up.decision?.proposals.find((p) => p.metric === 'websocketConnections')).toMatchObject({ value: seen, target: 4, proposal: Math.ceil(seen / 4) });
    // Up to 8 connections ask for 2 instances; more ask for 3, which the maximum holds at 2.
    expect(up.reason).toBe(`scale up 1 → 2: websocketConnections ${seen} vs target 4${seen > 8 ? ' (max 2)' : ''}`);
    expect(up.durationMs).toBeGreaterThan(0);
    expect(down.metrics.websocketConnections).toBe(0);
    expect(down.reason).toMatch(/^scale down 2 → 1/);
    expect(Object.keys(cluster.state().instances)).toEqual(['i1']);
  }, 300_000);

  it('applies a manual count within min and max and records it', async () => {
    // A manual count holds against a scale-down for the stabilization window, as HPA's recommendations do.
    await api('PUT', 'config', { targets: { cpu: 0.95 }, scaleDown: { stabilizationWindowMs: 300_000, selectPolicy: 'Max', cooldownMs: 0, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }] } });
    const manual = await api<{ count: number }>('POST', 'manual', { count: 5, reason: 'market open' });
    expect(manual.status).toBe(202);
    expect(manual.body.count).toBe(2);
    const event = await until('the manual scale-up', async () => (await history()).find((e) => e.trigger === 'manual'), 120_000);
    expect(event).toMatchObject({ from: 1, to: 2, reason: expect.stringMatching(/market open/) });
    const status = await until('status at 2', async () => {
      const { body } = await api<{ current: number; instances: { name: string; state: string }[] }>('GET', 'status');
      return body.current === 2 ? body : undefined;
    }, 10_000);
    expect(status.instances.map((i) => [i.name, i.state])).toEqual([
      ['i1', 'ready'],
      ['i2', 'ready'],
    ]);
  }, 180_000);
});
