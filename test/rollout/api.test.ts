/**
 * The rollout API on one platform (PGlite): admin only; without a cluster controller's heartbeat a start
 * is refused with 409 (never a 5xx); with one (as `tachyon cluster` writes it) a rollout is recorded,
 * a second one conflicts, promote/abort are queued for the controller, an ended one cannot be aborted,
 * and the history lists them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutStore } from '../../src/rollout/store.ts';
import type { Rollout } from '../../src/rollout/types.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

describe('rollout API', () => {
  let t: TestPlatform;
  let store: RolloutStore;
  const call = async (method: string, url: string, payload?: object, headers: Record<string, string> = t.admin) => {
    const res = await t.platform.app.inject({ method: method as 'GET', url: `/api/performance/rollouts${url}`, payload, headers });
    return { status: res.statusCode, body: res.json() as Rollout & { code?: string; detail?: string; rollouts: Rollout[]; controller: unknown } };
  };

  beforeAll(async () => {
    t = await startTestPlatform(pglite);
    store = new RolloutStore(t.platform.db);
  }, 180_000);
  afterAll(() => t?.close());

  it('is for administrators', async () => {
    expect((await call('GET', '', undefined, t.trader)).status).toBe(403);
  });

  it('refuses to start without a cluster controller, and a malformed request with 400', async () => {
    const refused = await call('POST', '', { version: { env: {} } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/no rollout controller/);
    expect((await call('POST', '', { version: { env: { PATH: '/tmp' } } })).status).toBe(400);
    expect((await call('POST', '', { version: { env: {} }, steps: [5, 25, 50] })).status).toBe(400);
    expect((await call('GET', '')).body.controller).toBeNull();
  });

  it('records a rollout for a live controller, one at a time, and queues its actions', async () => {
    await store.heartbeat({ stable: [{ name: 'i1', url: 'http://127.0.0.1:1' }], url: 'http://127.0.0.1:2' }, 5_000);
    const started = await call('POST', '', { version: { env: { TACHYON_FLAGS: 'cache.l1=off' }, label: 'v2' }, stepSeconds: 30 });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ strategy: 'canary', status: 'pending', spec: { steps: [5, 25, 50, 100], stepSeconds: 30, warmupSeconds: 30, analysis: { alpha: 0.01 } }, requestedBy: 'admin' });
    expect((await call('POST', '', { strategy: 'blue-green', version: { env: {} } })).status).toBe(409);
    expect((await call('POST', `/${started.body.id}/abort`)).status).toBe(202);
    expect(await store.takeAction(started.body.id)).toEqual({ action: 'abort', by: 'admin' });
    expect(await store.takeAction(started.body.id)).toBeUndefined();
    await store.update(started.body.id, { status: 'rolled-back', reason: 'aborted by admin', finished: true });
    expect((await call('POST', `/${started.body.id}/promote`)).status).toBe(409);
    const history = await call('GET', '?limit=5');
    expect(history.body.rollouts.map((r) => [r.id, r.status, r.reason])).toEqual([[started.body.id, 'rolled-back', 'aborted by admin']]);
    expect((await call('GET', `/${started.body.id}`)).body.finishedAt).not.toBeNull();
    expect((await call('GET', '/424242')).status).toBe(404);
  });
});
