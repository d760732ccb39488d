/**
 * The partitioned trading ledger (migration 020) on both engines: existing rows move into month partitions
 * created ahead; the previous release's writes and this release's are mirrored into each other's tables;
 * client order ids stay unique across months; every hot query of the trading store touches only the months
 * it needs (EXPLAIN ANALYZE of the store's own statements: partitions pruned at plan time are absent,
 * pruned at run time or left unread by a satisfied LIMIT show zero loops); an old month is archived (kept in
 * the archive schema), refused while it holds an open order, and restored; the order keys of archived months
 * are pruned (order_keys retention) unless an attached fill still references them, and come back with a restore.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import { PartitionMaintenance } from '../../src/db/partition-maintenance.ts';
import { MonthPartitions, monthStart, partitionName } from '../../src/db/partitions.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { TradingStore } from '../../src/trading/store.ts';
import { engines } from '../support/engines.ts';

const NOW = Date.now();
/** Three months: two before this one, and this one (mid-month, so "now + days" stays inside it). */
const MONTHS = [monthStart(NOW, -2), monthStart(NOW, -1), monthStart(NOW)];
const FAR = new Date(monthStart(NOW, 12) + 86_400_000);
const at = (month: number, day: number) => new Date(MONTHS[month]! + day * 86_400_000 + 3_600_000);

interface PlanNode {
  'Relation Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** The partitions of `parent` a statement actually read. */
async function partitionsRead(db: Database, parent: string, sql: string, params: readonly unknown[]): Promise<string[]> {
  const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  if (process.env.DEBUG_PLAN) console.log(sql, (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n'));
  const read = new Set<string>();
  const walk = (node: PlanNode) => {
    const name = node['Relation Name'];
    if (name?.startsWith(`${parent}_y`) && (node['Actual Loops'] ?? 0) > 0) read.add(name);
    node.Plans?.forEach(walk);
  };
  walk(rows[0]!['QUERY PLAN'][0].Plan);
  return [...read].sort();
}

describe.each(await engines())('partitioned trading tables on $name', (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let accountId: number;
  const store = () => new TradingStore(db, String);

  beforeAll(async () => {
    ({ db, cleanup } = await engine.open());
    // The schema and rows of the release before 020, in three months.
    await migrate(db, loadMigrations().filter((m) => m.version < 20));
    const user = await db.query<{ id: string }>("INSERT INTO users (name, role) VALUES ('ledger', 'trader') RETURNING id");
    const account = await db.query<{ id: string }>('INSERT INTO accounts (user_id, opening_cash, cash) VALUES ($1, 1000000, 1000000) RETURNING id', [user.rows[0]!.id]);
    accountId = Number(account.rows[0]!.id);
    await db.query(`INSERT INTO instruments (id, symbol, name, sector, exchange, tick_size, lot_size, base_price, volatility, avg_volume)
                    VALUES (1, 'AAA', 'A', 'Tech', 'X', 100, 1, 1000000, 0.2, 1000)`);
    for (let month = 0; month < 3; month++) {
      for (let i = 0; i < 3; i++) {
        const id = month * 10 + i + 1;
        // The oldest month keeps one good-till-cancelled order open.
        const status = month === 0 && i === 0 ? 'accepted' : 'filled';
        await db.query(
          `INSERT INTO orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, status, filled_quantity, filled_notional, created_at, updated_at)
           VALUES ($1, $2, $3, 1, 'buy', 'limit', 'gtc', 10, 1000000, $4, $5, $6, $7, $7)`,
          [id, accountId, `c${id}`, status, status === 'filled' ? 10 : 0, status === 'filled' ? 10_000_000 : 0, at(month, i + 1)],
        );
        if (status === 'filled') {
          await db.query(`INSERT INTO executions (id, order_id, account_id, instrument_id, side, quantity, price, ts) VALUES ($1, $1, $2, 1, 'buy', 10, 1000000, $3)`, [id, accountId, at(month, i + 1)]);
          await db.query(`INSERT INTO cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts) VALUES ($1, $2, 'trade', -10000000, 0, $1, $3)`, [id, accountId, at(month, i + 1)]);
        }
      }
    }
    await migrate(db);
    // Other accounts' traffic, so the planner sees months worth indexing (as it would in production).
    const other = await db.query<{ id: string }>('INSERT INTO accounts (user_id, opening_cash, cash) VALUES ($1, 0, 0) RETURNING id', [user.rows[0]!.id]);
    for (let month = 0; month < 3; month++) {
      await db.query(
        `WITH o AS (INSERT INTO trading_orders (id, account_id, instrument_id, side, type, time_in_force, quantity, status, created_at, updated_at)
           SELECT 1000000 + $2::int * 100000 + g, $1, 1, 'buy', 'market', 'day', 1, 'filled', $3::timestamptz + g * interval '1 second', $3::timestamptz
             FROM generate_series(1, 3000) AS g RETURNING id, account_id, created_at)
         INSERT INTO order_keys (id, account_id, created_at) SELECT id, account_id, created_at FROM o`,
        [other.rows[0]!.id, month, at(month, 5)],
      );
      await db.query(
        `INSERT INTO trading_cash_transactions (id, account_id, kind, amount, balance_after, ts)
         SELECT 1000000 + $2::int * 100000 + g, $1, 'fee', -1, 0, $3::timestamptz + g * interval '1 second' FROM generate_series(1, 3000) AS g`,
        [other.rows[0]!.id, month, at(month, 5)],
      );
    }
    await db.exec('ANALYZE');
  }, 240_000);
  afterAll(async () => {
    await cleanup?.();
  });

  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);

  it('moves the existing rows into month partitions and creates months ahead', async () => {
    expect(await count(`SELECT count(*) AS n FROM trading_orders WHERE account_id = ${accountId}`)).toBe(9);
    expect(await count(`SELECT count(*) AS n FROM order_keys WHERE account_id = ${accountId}`)).toBe(9);
    expect(await count('SELECT count(*) AS n FROM trading_executions')).toBe(8);
    expect(await count(`SELECT count(*) AS n FROM trading_cash_transactions WHERE account_id = ${accountId}`)).toBe(8);
    const partitions = new MonthPartitions(db);
    for (const table of ['trading_orders', 'trading_executions', 'trading_cash_transactions'] as const) {
      const names = (await partitions.list(table)).map((p) => p.name);
      expect(names).toEqual([0, 1, 2, 3, 4].map((k) => partitionName(table, monthStart(MONTHS[0]!, k))));
    }
    // Each month's rows are in that month's partition.
    expect(await count(`SELECT count(*) AS n FROM ${partitionName('trading_orders', MONTHS[1]!)} WHERE account_id = ${accountId}`)).toBe(3);
  });

  it("mirrors the previous release's writes into the partitioned tables and this release's into the old ones", async () => {
    // The previous release inserts and updates the old table (its journal upserts on id).
    const old = at(1, 20);
    await db.query(
      `INSERT INTO orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, status, created_at, updated_at)
       VALUES (100, $1, 'old-release', 1, 'buy', 'market', 'day', 5, 'accepted', $2, $2)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status`,
      [accountId, old],
    );
    await db.query("UPDATE orders SET status = 'filled', filled_quantity = 5 WHERE id = 100");
    expect((await store().orderByClientId(accountId, 'old-release'))).toMatchObject({ id: 100, status: 'filled', filledQuantity: 5, createdAt: old.getTime() });
    // A month the partitioned table does not have yet is created by the mirror.
    await db.query(`INSERT INTO cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts) VALUES (101, $1, 'deposit', 1, 1, NULL, $2)`, [accountId, FAR]);
    expect(await count('SELECT count(*) AS n FROM trading_cash_transactions WHERE id = 101')).toBe(1);

    // This release writes the partitioned tables (as the journal does); the old ones follow.
    await db.query(
      `INSERT INTO trading_orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, status, created_at, updated_at)
       VALUES (102, $1, NULL, 1, 'sell', 'market', 'day', 5, 'filled', $2, $2)`,
      [accountId, at(2, 2)],
    );
    await db.query('INSERT INTO order_keys (id, account_id, created_at) VALUES (102, $1, $2)', [accountId, at(2, 2)]);
    await db.query(`INSERT INTO trading_executions (id, order_id, account_id, instrument_id, side, quantity, price, ts) VALUES (102, 102, $1, 1, 'sell', 5, 1000000, $2)`, [accountId, at(2, 2)]);
    await db.query("UPDATE trading_orders SET status = 'cancelled' WHERE id = 102");
    expect((await db.query<{ status: string }>('SELECT status FROM orders WHERE id = 102')).rows).toEqual([{ status: 'cancelled' }]);
    expect(await count('SELECT count(*) AS n FROM executions WHERE id = 102')).toBe(1);
  });

  it('keeps a client order id unique per account across months', async () => {
    await expect(db.query("INSERT INTO order_keys (id, account_id, client_order_id, created_at) VALUES (200, $1, 'c1', now())", [accountId])).rejects.toMatchObject({ code: '23505' });
    expect((await store().orderByClientId(accountId, 'c1'))?.id).toBe(1);
    expect((await store().order(12, [accountId]))?.clientOrderId).toBe('c12');
    expect(await store().order(12, [accountId + 1])).toBeUndefined();
  });

  it("prunes every hot query of the trading store to the months it needs", async () => {
    const seen: { sql: string; params: readonly unknown[] }[] = [];
    const stop = db.observe((o) => seen.push({ sql: o.sql, params: o.params ?? [] }));
    // The store reads one row past the page (to know whether there is a next one): page sizes below count it.
    const read = async (parent: string, call: () => Promise<unknown>) => {
      seen.length = 0;
      await call();
      const last = seen.at(-1)!;
      return partitionsRead(db, parent, last.sql, last.params);
    };
    const orders = (month: number) => [partitionName('trading_orders', MONTHS[month]!)];
    // A newest-first page also probes the (empty) months created ahead, newer than any row: never an older month.
    const ahead = [1, 2].map((k) => partitionName('trading_orders', monthStart(NOW, k)));
    const cash = (month: number) => [partitionName('trading_cash_transactions', MONTHS[month]!)];
    try {
      expect(await read('trading_orders', () => store().order(12, [accountId]))).toEqual(orders(1));
      expect(await read('trading_orders', () => store().orderByClientId(accountId, 'c22'))).toEqual(orders(2));
      // Newest first: a page the newest month fills reads only that month; a cursor skips the months after it.
      expect(await read('trading_orders', () => store().orders(accountId, { limit: 2 }))).toEqual([...orders(2), ...ahead]);
      const page = await store().orders(accountId, { limit: 2 });
      const next = await store().orders(accountId, { limit: 3, cursor: page.nextCursor! });
      expect(next.items.map((o) => o.id)).toEqual([22, 21, 100]);
      expect(await read('trading_orders', () => store().orders(accountId, { limit: 1, cursor: page.nextCursor! }))).toEqual(orders(2));
      const older = await store().orders(accountId, { limit: 3, cursor: next.nextCursor! });
      expect(await read('trading_orders', () => store().orders(accountId, { limit: 2, cursor: next.nextCursor! }))).toEqual(orders(1));
      expect(older.items.map((o) => o.id)).toEqual([13, 12, 11]);
      expect(await read('trading_orders', () => store().orders(accountId, { limit: 2, status: 'filled' }))).toEqual([...orders(2), ...ahead]);

      // The newest page: the deposit a year ahead, then this month.
      expect(await read('trading_cash_transactions', () => store().transactions(accountId, 2))).toEqual([...cash(2), ...[1, 2, 12].map((k) => partitionName('trading_cash_transactions', monthStart(NOW, k)))]);
      const tx = await store().transactions(accountId, 5);
      expect(tx.items.map((t) => t.id)).toEqual([101, 23, 22, 21, 13]);
      expect(await read('trading_cash_transactions', () => store().transactions(accountId, 1, tx.nextCursor!))).toEqual(cash(1));
    } finally {
      stop();
    }
  });

  it('archives an old month into the archive schema (refused while it holds an open order) and restores it', async () => {
    const partitions = new MonthPartitions(db);
    const oldest = partitionName('trading_orders', MONTHS[0]!);
    await expect(partitions.archive(db, 'trading_orders', oldest)).rejects.toThrow(/1 open orders/);
    const month = partitionName('trading_orders', MONTHS[1]!);
    expect(await partitions.archive(db, 'trading_orders', month)).toBe(`archive.${month}`);
    expect((await partitions.list('trading_orders')).map((p) => p.name)).not.toContain(month);
    expect(await count(`SELECT count(*) AS n FROM archive.${month} WHERE account_id = ${accountId}`)).toBe(4);
    expect(await store().order(12, [accountId])).toBeUndefined();
    await expect(partitions.archive(db, 'trading_orders', month)).rejects.toThrow(/not an attached partition/);

    await partitions.restore(db, 'trading_orders', month);
    expect((await store().order(12, [accountId]))?.clientOrderId).toBe('c12');
  });

  it('maintenance creates months ahead and archives old ones, skipping a month with an open order', async () => {
    const partitions = new MonthPartitions(db);
    const maintenance = new PartitionMaintenance(db, partitions, new ManualClock(NOW), pino({ level: 'silent' }), { aheadMonths: 3, archiveAfterMonths: 1, intervalMs: 3_600_000 });
    const report = await maintenance.run();
    for (const table of ['bars_1m', 'trading_orders', 'trading_executions', 'trading_cash_transactions'] as const) {
      expect((await partitions.list(table)).map((p) => p.name)).toContain(partitionName(table, monthStart(NOW, 3)));
    }
    // Months ending before last month: the oldest test month (its open order keeps the orders month attached).
    expect(report.archived.sort()).toEqual([`archive.${partitionName('trading_cash_transactions', MONTHS[0]!)}`, `archive.${partitionName('trading_executions', MONTHS[0]!)}`]);
    expect(report.skipped).toEqual([{ name: partitionName('trading_orders', MONTHS[0]!), reason: expect.stringMatching(/open orders/) }]);
  });
  it('order_keys retention: keys of archived months are pruned (not while a fill still references them) and come back with a restore', async () => {
    const partitions = new MonthPartitions(db);
    const keys = async () => (await db.query<{ id: string }>(`SELECT id FROM order_keys WHERE account_id = ${accountId} ORDER BY id`)).rows.map((r) => Number(r.id));
    const before = await keys();
    const month1 = (await db.query<{ id: string }>(`SELECT id FROM trading_orders WHERE account_id = ${accountId} AND created_at >= $1 AND created_at < $2`, [new Date(MONTHS[1]!), new Date(MONTHS[2]!)])).rows.map((r) => Number(r.id));
    const orders = partitionName('trading_orders', MONTHS[1]!);
    const fills = partitionName('trading_executions', MONTHS[1]!);
    await partitions.archive(db, 'trading_orders', orders);
    // The month's fills are still attached and reference the keys (the other account's fill-less orders of the month go).
    expect(await partitions.pruneOrderKeys(monthStart(NOW))).toBeGreaterThanOrEqual(3_000);
    expect(await keys()).toEqual(expect.arrayContaining([11, 12, 13]));
    await partitions.archive(db, 'trading_executions', fills);
    expect(await partitions.pruneOrderKeys(monthStart(NOW))).toBe(3);
    // Attached orders keep their keys: the oldest month's (it holds an open order), this month's.
    expect(month1).toEqual(expect.arrayContaining([11, 12, 13]));
    expect(await keys()).toEqual(before.filter((id) => !month1.includes(id)));
    // Idempotency is gone with the keys: an archived order's client id is free again, as documented.
    expect(await store().orderByClientId(accountId, 'c12')).toBeUndefined();

    await partitions.restore(db, 'trading_orders', orders);
    await partitions.restore(db, 'trading_executions', fills);
    expect(await keys()).toEqual(before);
    expect((await store().order(12, [accountId]))?.clientOrderId).toBe('c12');
  });

  it('maintenance prunes the keys of the months it archives', async () => {
    const partitions = new MonthPartitions(db);
    // A month later, with months archived after one: month 1 goes entirely (orders and fills), month 0's orders stay (the open order).
    const later = new ManualClock(monthStart(NOW, 1) + 86_400_000);
    const maintenance = new PartitionMaintenance(db, partitions, later, pino({ level: 'silent' }), { aheadMonths: 3, archiveAfterMonths: 1, intervalMs: 3_600_000 });
    const report = await maintenance.run();
    expect(report.archived).toContain(`archive.${partitionName('trading_executions', MONTHS[1]!)}`);
    // Every key of an order no attached month holds, and no attached fill references, is gone; the others stay.
    const orphans = `SELECT count(*) AS n FROM order_keys k WHERE NOT EXISTS (SELECT 1 FROM trading_orders o WHERE o.id = k.id)`;
    expect(report.prunedKeys).toBeGreaterThan(0);
    expect(await count(`${orphans} AND NOT EXISTS (SELECT 1 FROM trading_executions e WHERE e.order_id = k.id)`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM order_keys WHERE id = 1`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM order_keys WHERE created_at >= '${new Date(MONTHS[2]!).toISOString()}'`)).toBeGreaterThan(0);
  });
});
