/**
 * Flag state shared through the database and the bus: persisted with its audit history on both
 * engines, kept across a restart, the same accounts on two instances sharing one PostgreSQL and
 * Redis, a change on one seen by the other, and an experiment measured on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, type TachyonConfig } from '../../src/config/config.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { engines } from '../support/engines.ts';
import { ADMIN_TOKEN, DEMO_TOKEN, startTestPlatform } from '../support/platform.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const FLAG = 'cache.l1-fast-path';

describe.each(await engines())('flag state on $name', (engine) => {
  it('a change is persisted with its audit rows, and a restart on the same database keeps it', async () => {
    const t = await startTestPlatform(engine);
    let restarted: Platform | undefined;
    try {
      const put = await t.platform.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { mode: 'accounts', percent: 10, reason: 'trial' } });
      expect(put.statusCode, put.body).toBe(200);
      expect(put.json()).toMatchObject({ name: FLAG, enabled: false, source: 'database', rollout: { mode: 'accounts', percent: 10 } });
      await t.platform.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { enabled: false, reason: 'rolled back' } });
      await t.platform.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { mode: 'accounts', percent: 25 } });
      const history = (await t.platform.app.inject({ url: `/api/admin/flags/${FLAG}/history`, headers: admin })).json().changes;
      expect(history.map((c: { actor: string; old: unknown; new: unknown; reason: string }) => [c.old, c.new, c.reason])).toEqual([
        [{ mode: 'off', percent: 0, experiment: null }, { mode: 'accounts', percent: 25, experiment: null }, ''],
        [{ mode: 'accounts', percent: 10, experiment: null }, { mode: 'off', percent: 0, experiment: null }, 'rolled back'],
        [null, { mode: 'accounts', percent: 10, experiment: null }, 'trial'],
      ]);
      expect(history[0]).toMatchObject({ actor: 'admin', at: expect.stringMatching(/^\d{4}-/) });
      // Bad input is a 4xx, never a 5xx.
      expect((await t.platform.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { mode: 'accounts' } })).statusCode).toBe(400);
      expect((await t.platform.app.inject({ method: 'PUT', url: '/api/admin/flags/no.such', headers: admin, payload: { enabled: true } })).statusCode).toBe(404);
      expect((await t.platform.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: { authorization: `Bearer ${DEMO_TOKEN}` }, payload: { enabled: true } })).statusCode).toBe(403);

      await t.platform.stop();
      restarted = await buildPlatform(t.platform.config, { db: t.platform.db });
      expect(restarted.flags.get(FLAG)).toMatchObject({ source: 'database', rollout: { mode: 'accounts', percent: 25 } });
      const reset = await restarted.app.inject({ method: 'DELETE', url: `/api/admin/flags/${FLAG}?reason=done`, headers: admin });
      expect(reset.json()).toMatchObject({ source: 'default', enabled: true });
      expect((await restarted.flagRollouts.history({ name: FLAG }))[0]).toMatchObject({ old: { mode: 'accounts', percent: 25 }, new: null, reason: 'done' });
    } finally {
      await restarted?.stop();
      await t.close();
    }
  }, 240_000);
});

const servers = (await pgAvailable()) && (await redisAvailable());

describe.runIf(servers)('two instances sharing one PostgreSQL and Redis', () => {
  let database: TempDatabase;
  let config: TachyonConfig;
  let a: Platform;
  let b: Platform;
  const prefix = redisPrefix('flags');

  beforeAll(async () => {
    database = await createTempDatabase('flags');
    const base = testConfig();
    config = testConfig({
      demoToken: DEMO_TOKEN,
      adminToken: ADMIN_TOKEN,
      databaseUrl: database.url,
      redisUrl: REDIS_TEST_URL,
      cache: { ...base.cache, prefix: `${prefix}cache:` },
      realtime: { ...base.realtime, busChannel: `${prefix}bus` },
      analysis: { ...base.analysis, queuePrefix: `${prefix}tasks` },
    });
    a = await buildPlatform(config);
    b = await buildPlatform(config);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    await deleteRedisKeys(prefix);
  });

  it('10% reaches about 10% of 2,000 accounts, the same ones on both instances, and a change on one reaches the other', async () => {
    const accounts = Array.from({ length: 2_000 }, (_, i) => i + 1);
    const res = await a.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { mode: 'accounts', percent: 10, reason: 'canary of the fast path' } });
    expect(res.statusCode, res.body).toBe(200);
    await expect.poll(() => b.flags.get(FLAG)?.rollout, { timeout: 10_000 }).toMatchObject({ mode: 'accounts', percent: 10 });
    const onA = accounts.filter((id) => a.flags.isEnabled(FLAG, id));
    const onB = accounts.filter((id) => b.flags.isEnabled(FLAG, id));
    expect(onA.length).toBeGreaterThan(150);
    expect(onA.length).toBeLessThan(250);
    expect(onB).toEqual(onA);

    // Grown to 25% on B: A follows, and every account of the 10% stays on.
    await b.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { mode: 'accounts', percent: 25 } });
    await expect.poll(() => a.flags.get(FLAG)?.rollout.percent, { timeout: 10_000 }).toBe(25);
    expect(onA.every((id) => a.flags.isEnabled(FLAG, id))).toBe(true);
    expect(accounts.filter((id) => a.flags.isEnabled(FLAG, id))).toEqual(accounts.filter((id) => b.flags.isEnabled(FLAG, id)));

    // Reset on A: B is back on its configuration too.
    await a.app.inject({ method: 'DELETE', url: `/api/admin/flags/${FLAG}`, headers: admin });
    await expect.poll(() => b.flags.get(FLAG)?.source, { timeout: 10_000 }).toBe('default');
  });

  it('an experiment records both cohorts on both instances, restores the previous state and reports the comparison', async () => {
    const traders = await Promise.all(Array.from({ length: 30 }, (_, i) => a.users.create({ name: `exp-${i}`, role: 'trader', label: 'test' })));
    await a.app.inject({ method: 'PUT', url: `/api/admin/flags/${FLAG}`, headers: admin, payload: { enabled: false, reason: 'baseline' } });
    const started = await a.app.inject({ method: 'POST', url: `/api/admin/flags/${FLAG}/experiments`, headers: admin, payload: { percent: 50, durationMs: 600_000, reason: 'test' } });
    expect(started.statusCode, started.body).toBe(202);
    const experiment = started.json() as { id: number; status: string; previous: unknown };
    expect(experiment).toMatchObject({ status: 'running', previous: { mode: 'off', percent: 0 } });
    // One running experiment per flag.
    expect((await b.app.inject({ method: 'POST', url: `/api/admin/flags/${FLAG}/experiments`, headers: admin, payload: { percent: 10, durationMs: 60_000 } })).statusCode).toBe(409);
    await expect.poll(() => b.flags.get(FLAG)?.rollout.experiment, { timeout: 10_000 }).toBe(experiment.id);

    const cohorts = { on: 0, off: 0 };
    for (const [i, trader] of traders.entries()) {
      const instance = i % 2 === 0 ? a : b;
      const headers = { authorization: `Bearer ${trader.token}` };
      for (let r = 0; r < 3; r++) expect((await instance.app.inject({ url: '/api/instruments?limit=5', headers })).statusCode).toBe(200);
      cohorts[instance.flags.isEnabled(FLAG, trader.accountId!) ? 'on' : 'off'] += 3;
    }
    expect(cohorts.on).toBeGreaterThan(0);
    expect(cohorts.off).toBeGreaterThan(0);

    const aborted = await b.app.inject({ method: 'DELETE', url: `/api/admin/flag-experiments/${experiment.id}`, headers: admin });
    expect(aborted.statusCode, aborted.body).toBe(200);
    const result = aborted.json() as { status: string; result: { on: { count: number }; off: { count: number }; instances: number; verdict: string; summary: string } };
    expect(result.status).toBe('aborted');
    expect(result.result).toMatchObject({ on: { count: cohorts.on }, off: { count: cohorts.off }, instances: 2 });
    expect(result.result.verdict).toMatch(/faster|slower|no significant difference|insufficient data/);
    // The previous state is back on both instances.
    expect(b.flags.get(FLAG)).toMatchObject({ source: 'database', rollout: { mode: 'off', experiment: null } });
    await expect.poll(() => a.flags.get(FLAG)?.rollout.experiment, { timeout: 10_000 }).toBe(null);
    const history = await a.flagRollouts.history({ name: FLAG, limit: 2 });
    expect(history.map((c) => c.reason)).toEqual([`experiment ${experiment.id} aborted: previous state restored`, `experiment ${experiment.id} started: test`]);
  }, 120_000);

  it('an experiment past its end is ended by the instance that reads it, and the flag is back on both instances', async () => {
    const started = await a.app.inject({ method: 'POST', url: `/api/admin/flags/${FLAG}/experiments`, headers: admin, payload: { percent: 20, durationMs: 1_000 } });
    const { id } = started.json() as { id: number };
    await expect
      .poll(async () => ((await b.app.inject({ url: `/api/admin/flag-experiments/${id}`, headers: admin })).json() as { result: unknown }).result, { timeout: 20_000, interval: 500 })
      .toMatchObject({ verdict: expect.any(String) });
    const done = (await a.app.inject({ url: `/api/admin/flag-experiments?flag=${FLAG}`, headers: admin })).json().experiments[0];
    expect(done).toMatchObject({ id, status: 'completed', endedAt: expect.any(String) });
    await expect.poll(() => [a.flags.get(FLAG)?.rollout.mode, b.flags.get(FLAG)?.rollout.mode], { timeout: 10_000 }).toEqual(['off', 'off']);
  }, 60_000);
});
