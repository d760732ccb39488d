/**
 * The stop sequence a load balancer relies on: readiness is 503 while starting, 200 once serving,
 * and 503 again as soon as a stop begins, while the server still answers requests during the drain
 * delay; then WebSocket clients get 1012 (service restart: reconnect elsewhere). Components add
 * their own readiness checks (the feed leader, leases) to the same registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/realtime/protocol.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { eventually, rawSocket, wsUrl } from '../realtime/support.ts';

describe('readiness and draining', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(pglite);
  });
  afterAll(() => t?.close());

  const ready = async () => {
    const response = await t.platform.app.inject({ url: '/api/health/ready' });
    return { status: response.statusCode, body: response.json() as { checks: Record<string, { ok: boolean; reason?: string }> } };
  };

  it('is not ready before listening, ready once serving, and fails on a component check', async () => {
    const starting = await ready();
    expect(starting.status).toBe(503);
    expect(starting.body.checks.lifecycle).toEqual({ ok: false, reason: 'starting' });
    expect(starting.body.checks.database).toEqual({ ok: true });

    await t.platform.listen();
    expect((await ready()).status).toBe(200);

    let holdsFeed = false;
    t.platform.health.addReadiness('feed', () => (holdsFeed ? { ok: true } : { ok: false, reason: 'no feed' }));
    expect(await ready()).toMatchObject({ status: 503, body: { checks: { feed: { ok: false, reason: 'no feed' } } } });
    holdsFeed = true;
    expect((await ready()).status).toBe(200);
  });

  it('turns not ready at once on stop, keeps serving through the drain delay, then closes WebSockets with 1012', async () => {
    const address = t.platform.app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    const ws = await rawSocket(wsUrl(base), { headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    await ws.next((f) => f.type === 'welcome');

    const stopped = t.platform.stop({ drainMs: 1_500 });
    const draining = await fetch(`${base}/api/health/ready`);
    expect(draining.status).toBe(503);
    expect(((await draining.json()) as { checks: Record<string, unknown> }).checks.lifecycle).toEqual({ ok: false, reason: 'draining' });
    // Requests the load balancer still sends during the drain are served.
    expect((await fetch(`${base}/api/orders`, { headers: t.trader })).status).toBe(200);
    expect(ws.closed()).toBeUndefined();
    await stopped;
    await eventually(() => ws.closed() !== undefined, 'the close frame');
    expect(ws.closed()!.code).toBe(CloseCode.SERVICE_RESTART);
  });
});
