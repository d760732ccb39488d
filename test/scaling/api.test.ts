/**
 * The scaling API on one platform: without an autoscaler it answers 200 with mode single-instance
 * (never 404), still validating and storing the configuration; a PUT names the wrong field in its
 * 400; with an autoscaler's status in the database (as `tachyon cluster --autoscale` writes it) the
 * API reports the cluster, queues manual counts within min and max, and lists the history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCALING_CONFIG } from '../../src/scaling/hpa.ts';
import { ScalingStore } from '../../src/scaling/store.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

describe('scaling API', () => {
  let t: TestPlatform;
  let store: ScalingStore;
  const call = async (method: string, url: string, payload?: object, headers: Record<string, string> = t.admin) => {
    const res = await t.platform.app.inject({ method: method as 'GET', url, payload, headers });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { errors?: { field: string }[] } };
  };

  beforeAll(async () => {
    t = await startTestPlatform(pglite);
    store = new ScalingStore(t.platform.db);
  });
  afterAll(() => t?.close());

  it('answers under both prefixes as single-instance without an autoscaler, admin only', async () => {
    for (const prefix of ['/performance', '/api/performance']) {
      for (const path of ['status', 'history']) {
        const { status, body } = await call('GET', `${prefix}/scaling/${path}`);
        expect(status).toBe(200);
        expect(body.mode).toBe('single-instance');
        expect(body.message).toMatch(/tachyon cluster --autoscale/);
      }
    }
    expect((await call('GET', '/performance/scaling/status', undefined, t.trader)).status).toBe(403);
    expect((await call('GET', '/performance/scaling/status', undefined, {})).status).toBe(401);
    const manual = await call('POST', '/performance/scaling/manual', { count: 3, reason: 'test' });
    expect(manual.status).toBe(200);
    expect(manual.body.mode).toBe('single-instance');
  });

  it('validates a configuration, naming the field, and stores a valid one', async () => {
    const cases: [object, string][] = [
      [{ minInstances: 0 }, 'body.minInstances'],
      [{ targets: { cpu: -1 } }, 'body.targets.cpu'],
      [{ targets: { gpu: 0.5 } }, 'body.targets.gpu'],
      [{ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, selectPolicy: 'Sometimes' } }, 'body.scaleUp.selectPolicy'],
      [{ scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, policies: [] } }, 'body.scaleDown.policies'],
      [{ schedules: [{ days: [1], start: '25:00', end: '10:00', minInstances: 2 }] }, 'body.schedules.0.start'],
      [{ schedules: [{ days: [1], start: '10:00', end: '09:00', minInstances: 2 }] }, 'body.schedules.0.end'],
      [{ minInstances: 5, maxInstances: 3 }, 'body.minInstances'],
      [{ schedules: [{ days: [1], start: '09:00', end: '10:00', minInstances: 50 }] }, 'body.schedules.0.minInstances'],
      [{ predictive: { ...DEFAULT_SCALING_CONFIG.predictive, leadMs: -1 } }, 'body.predictive.leadMs'],
      [{ predictive: { ...DEFAULT_SCALING_CONFIG.predictive, days: 2, minDays: 3 } }, 'body.predictive.minDays'],
    ];
    for (const [payload, field] of cases) {
      const { status, body } = await call('PUT', '/performance/scaling/config', payload);
      expect(status, JSON.stringify(payload)).toBe(400);
      expect(body.errors?.map((e) => e.field)).toContain(field);
    }
    expect(await store.config()).toEqual(DEFAULT_SCALING_CONFIG);

    const put = await call('PUT', '/api/performance/scaling/config', { maxInstances: 6, targets: { cpu: 0.5, queueDepth: 20 } });
    expect(put.status).toBe(200);
    expect(put.body.mode).toBe('single-instance');
    const stored = await store.config();
    expect(stored).toEqual({ ...DEFAULT_SCALING_CONFIG, maxInstances: 6, targets: { cpu: 0.5, queueDepth: 20 } });
    expect((await call('GET', '/performance/scaling/config')).body).toEqual(stored);
  });

  it('reports a live autoscaler, queues manual counts within min and max, lists the history', async () => {
    await store.writeStatus({ current: 2, desired: 2, reason: 'hold at 2', metrics: { cpu: 0.4 }, instances: [], decision: null }, 1_000);
    const status = await call('GET', '/performance/scaling/status');
    expect(status.body).toMatchObject({ mode: 'cluster', current: 2, desired: 2, reason: 'hold at 2', config: { maxInstances: 6 } });

    const manual = await call('POST', '/performance/scaling/manual', { count: 9, reason: 'market open' });
    expect(manual.status).toBe(202);
    expect(manual.body).toMatchObject({ requested: 9, count: 6, limitedBy: 'min 1, max 6' });
    await call('POST', '/performance/scaling/manual', { count: 3, reason: 'second thoughts' });
    expect(await store.takeManual()).toEqual({ count: 3, reason: 'second thoughts', requestedBy: expect.any(String) });
    expect(await store.takeManual()).toBeUndefined();
    expect((await call('POST', '/performance/scaling/manual', { count: 0, reason: 'x' })).body.errors?.[0]?.field).toBe('body.count');

    await store.recordEvent({ from: 2, to: 3, trigger: 'manual', reason: 'second thoughts', metrics: { cpu: 0.4 }, decision: null, durationMs: 1234 });
    const history = await call('GET', '/performance/scaling/history?limit=5');
    expect(history.body.mode).toBe('cluster');
    expect(history.body.events).toEqual([{ id: expect.any(Number), at: expect.any(String), from: 2, to: 3, trigger: 'manual', reason: 'second thoughts', metrics: { cpu: 0.4 }, decision: null, durationMs: 1234 }]);

    await store.clearStatus();
    expect((await call('GET', '/performance/scaling/status')).body.mode).toBe('single-instance');
  });
});
