/**
 * PostgreSQL cut and partitioned through a TCP proxy the test controls: queries fail within the
 * statement timeout instead of hanging (each request below is awaited while the partition is still
 * in place, so a hang fails the test), readiness goes 503 so a load balancer stops sending, and
 * everything answers again once the network heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { createTempDatabase, pgAvailable, PG_ADMIN_URL, type TempDatabase } from '../support/servers.ts';
import { ADMIN_TOKEN, DEMO_TOKEN, sleep } from './support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const hasPg = await pgAvailable();

describe.skipIf(!hasPg)('a database behind a cut and a partition', () => {
  let temp: TempDatabase;
  let proxy: TcpProxy;
  let platform: Platform;
  let base: string;
  const trader = { authorization: `Bearer ${DEMO_TOKEN}` };

  beforeAll(async () => {
    temp = await createTempDatabase('partition');
    const target = new URL(PG_ADMIN_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const url = new URL(temp.url);
    url.host = `127.0.0.1:${proxy.port}`;
    platform = await buildPlatform(testConfig({ databaseUrl: url.toString(), databaseStatementTimeoutMs: 1_000, demoToken: DEMO_TOKEN, adminToken: ADMIN_TOKEN }));
    base = await platform.listen();
  });
  afterAll(async () => {
    await platform?.stop();
    await proxy?.close();
    await temp?.drop();
  });

  const get = (path: string) => fetch(`${base}${path}`, { headers: trader });

  async function eventuallyReady(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`${base}/api/health/ready`)).status === 200) return;
      await sleep(100);
    }
    throw new Error('never ready again');
  }

  it('answers without hanging while partitioned, reports not ready, and recovers', async () => {
    // Several pooled connections already open: queries go out on them and meet the partition.
    for (const answer of await Promise.all(Array.from({ length: 8 }, () => get('/api/portfolio/transactions')))) expect(answer.status).toBe(200);
    proxy.partition();
    const ready = await fetch(`${base}/api/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks.database?.ok).toBe(false);
    // Reads that need the database fail (they do not hang) while the partition holds.
    const answers = await Promise.all([get('/api/orders'), get('/api/health/db'), get('/api/portfolio/transactions')]);
    for (const answer of answers) expect(answer.status).toBeGreaterThanOrEqual(500);
    proxy.heal();
    await eventuallyReady();
    expect((await get('/api/orders')).status).toBe(200);
  });

  it('answers at once while the database is cut, and recovers', async () => {
    proxy.cut();
    expect((await fetch(`${base}/api/health/ready`)).status).toBe(503);
    expect((await get('/api/orders')).status).toBeGreaterThanOrEqual(500);
    proxy.heal();
    await eventuallyReady();
    expect((await get('/api/orders')).status).toBe(200);
  });
});
