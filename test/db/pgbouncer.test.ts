/**
 * The platform through a real PgBouncer in transaction mode (deploy/pgbouncer/pgbouncer.ini): the
 * usual traps are session state — startup parameters, named prepared statements, session advisory
 * locks, SET — so migrations (a transaction-scoped advisory lock), the group-committed journal, leases
 * and reads all run through it here, with more concurrent clients than the pooler has server connections.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { openServer } from '../../src/db/pg.ts';
import { buildPlatform } from '../../src/platform.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import { pgbouncerAvailable, startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { ADMIN_TOKEN, DEMO_TOKEN, type TestPlatform } from '../support/platform.ts';
import { createTempDatabase, PG_ADMIN_URL, pgAvailable, type TempDatabase } from '../support/servers.ts';
import { newTrader, place, setQuote } from '../trading/helpers.ts';

const available = (await pgAvailable()) && pgbouncerAvailable();
const PORT = 28_921;

describe.skipIf(!available)('PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  let temp: TempDatabase;
  let t: TestPlatform;
  let url: string;

  beforeAll(async () => {
    const server = new URL(PG_ADMIN_URL);
    bouncer = await startPgBouncer(PORT, { host: server.hostname, port: Number(server.port) });
    temp = await createTempDatabase('pgbouncer');
    url = bouncer.url(new URL(temp.url).pathname.slice(1));
    // Fewer pooled server connections (the ini's default_pool_size) than these clients: they share them.
    const db = await openServer({ url, poolSize: 60, pooler: 'transaction' });
    const config = testConfig({ demoToken: DEMO_TOKEN, adminToken: ADMIN_TOKEN, databaseUrl: url, databasePooler: 'transaction', databasePoolSize: 60 });
    const platform = await buildPlatform(config, { db });
    t = {
      platform,
      trader: { authorization: `Bearer ${DEMO_TOKEN}` },
      admin: { authorization: `Bearer ${ADMIN_TOKEN}` },
      async close() {
        await platform.stop();
        await db.close();
      },
    };
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await bouncer?.stop();
    await temp?.drop();
  });

  it('refuses the statement_timeout startup parameter a direct connection sends; the pooler sets it per server connection instead', async () => {
    const direct = new pg.Client({ connectionString: url, statement_timeout: 5_000 });
    await expect(direct.connect()).rejects.toThrow(/unsupported startup parameter: statement_timeout/);
    await direct.end().catch(() => undefined);
    const { rows } = await t.platform.db.query<{ timeout: string }>(`SELECT current_setting('statement_timeout') AS timeout`);
    expect(rows[0]!.timeout).toBe('5s');
  });

  it('migrated the schema, holds leases, and answers reads through the pooler', async () => {
    const { rows } = await t.platform.db.query<{ n: number }>('SELECT count(*)::int AS n FROM cluster_leases');
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect((await t.platform.app.inject({ url: '/api/instruments?limit=5', headers: t.trader })).statusCode).toBe(200);
    const health = (await t.platform.app.inject({ url: '/api/health/detailed', headers: t.admin })).json<{ dependencies: Array<{ name: string; ok: boolean }> }>();
    expect(health.dependencies.filter((d) => !d.ok)).toEqual([]);
    expect(health.dependencies.map((d) => d.name)).toContain('database');
  });

  it('takes 200 concurrent orders from many accounts: every acknowledged order stored once, reconcile clean', async () => {
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01 });
    const traders = await Promise.all(Array.from({ length: 20 }, () => newTrader(t, 1_000_000)));
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => place(t, traders[i % traders.length]!, { symbol: 'AAPL', side: i % 3 === 0 ? 'sell' : 'buy', type: 'market', quantity: 1, clientOrderId: `pgb-${i}` })),
    );
    const acked = answers.filter((a) => a.statusCode === 201).map((a) => a.json<{ id: number }>().id);
    // Sells of shares a trader does not hold may be refused (422); nothing else may fail.
    expect(answers.filter((a) => a.statusCode !== 201 && a.statusCode !== 422).map((a) => `${a.statusCode} ${a.body}`)).toEqual([]);
    expect(acked.length).toBeGreaterThan(100);
    const stored = await t.platform.db.query<{ id: number; status: string }>(`SELECT id, status FROM orders WHERE client_order_id LIKE 'pgb-%'`);
    const accepted = stored.rows.filter((r) => r.status !== 'rejected');
    expect(accepted.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...acked].sort((a, b) => a - b));
    // A refused order is recorded as rejected, once: one row per 422.
    expect(stored.rows.length - accepted.length).toBe(answers.filter((a) => a.statusCode === 422).length);
    expect((await reconcile(t.platform.db)).problems).toEqual([]);
  });
});
