/**
 * Month partitions of the time-partitioned tables (bars_1m, the trading ledger): created ahead of the
 * rows that need them, listed, and archived — detached and moved to the `archive` schema, never dropped
 * (restore: docs/operations.md "Partitions"). The naming and the DDL are the database's own function
 * `tachyon_month_partition` (migration 020), shared with the triggers that create a month on demand.
 */
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import type { Database, Queryable } from './database.ts';

/** Every month-partitioned table and the column it is partitioned on. */
export const MONTH_PARTITIONED = {
  bars_1m: 'ts',
  trading_orders: 'created_at',
  trading_executions: 'ts',
  trading_cash_transactions: 'ts',
} as const;
export type PartitionedTable = keyof typeof MONTH_PARTITIONED;

/** Rows that keep a month of a table from being archived (an open order must stay where recovery reads it). */
const ARCHIVE_BLOCKERS: Partial<Record<PartitionedTable, string>> = {
  trading_orders: "status IN ('accepted', 'partially_filled')",
};

export const ARCHIVE_SCHEMA = 'archive';
/** order_keys rows deleted per statement when pruning (one short transaction each). */
const PRUNE_BATCH = 10_000;
const ARCHIVE_LOCK_KEY = 7_245_020;

/** Epoch ms of the first instant of the UTC month holding `ms`, `offset` months later. */
export function monthStart(ms: number, offset = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1);
}

/** `<table>_yYYYYmMM`, the name tachyon_month_partition gives the month holding `ms`. */
export function partitionName(table: PartitionedTable, ms: number): string {
  const d = new Date(ms);
  return `${table}_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export interface PartitionInfo {
  name: string;
  /** Epoch ms of the month's bounds [from, to). */
  from: number;
  to: number;
}

export class MonthPartitions {
  /** Partitions known to exist: the common case (this month) costs a Set lookup, no statement. */
  private readonly known = new Set<string>();

  constructor(private readonly db: Queryable) {}

  /** Makes sure every month of `table` from `fromMs` to `toMs` (inclusive) has its partition. */
  async ensure(table: PartitionedTable, fromMs: number, toMs: number): Promise<void> {
    for (let month = monthStart(fromMs); month <= toMs; month = monthStart(month, 1)) {
      const name = partitionName(table, month);
      if (this.known.has(name)) continue;
      await this.db.query('SELECT tachyon_month_partition($1, $2)', [table, new Date(month)]);
      this.known.add(name);
    }
  }

  /** The attached partitions of `table`, oldest first. */
  async list(table: PartitionedTable): Promise<PartitionInfo[]> {
    const { rows } = await this.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [table],
    );
    return rows.flatMap(({ name }) => {
      const match = /_y(\d{4})m(\d{2})$/.exec(name);
      if (!match) return [];
      const from = Date.UTC(Number(match[1]), Number(match[2]) - 1, 1);
      return [{ name, from, to: monthStart(from, 1) }];
    });
  }

  /**
   * Detaches one month of `table` and moves it to the archive schema, in one transaction. Refused while the
   * month still holds rows the platform needs (open orders). Returns the archived table's qualified name.
   */
  async archive(db: Database, table: PartitionedTable, name: string): Promise<string> {
    await db.transaction(async (tx) => {
      // One archiver at a time (every instance runs the maintenance): the second finds the month gone.
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ARCHIVE_LOCK_KEY]);
      const attached = await new MonthPartitions(tx).list(table);
      if (!attached.some((p) => p.name === name)) throw new NotFoundError(`${name} is not an attached partition of ${table}`);
      const blocker = ARCHIVE_BLOCKERS[table];
      if (blocker) {
        const { rows } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name} WHERE ${blocker}`);
        if (rows[0]!.n > 0) throw new ConflictError(`${name} still holds ${rows[0]!.n} open orders: it cannot be archived until they are done`);
      }
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${ARCHIVE_SCHEMA}`);
      await tx.exec(`ALTER TABLE ${table} DETACH PARTITION ${name}`);
      await tx.exec(`ALTER TABLE ${name} SET SCHEMA ${ARCHIVE_SCHEMA}`);
      // A detached month keeps its copy of the parent's foreign keys: the archived fills would pin their
      // orders' keys in order_keys forever (pruneOrderKeys). Restoring re-adds it (ATTACH validates it).
      const { rows: fks } = await tx.query<{ name: string }>(
        `SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND confrelid = 'order_keys'::regclass AND contype = 'f'`,
        [`${ARCHIVE_SCHEMA}.${name}`],
      );
      for (const fk of fks) await tx.exec(`ALTER TABLE ${ARCHIVE_SCHEMA}.${name} DROP CONSTRAINT "${fk.name}"`);
    });
    this.known.delete(name);
    return `${ARCHIVE_SCHEMA}.${name}`;
  }

  /**
   * Retention of order_keys (one row per order ever placed: the idempotency keys and the id → month index).
   * Deletes the keys created before `beforeMs` whose order is no longer in an attached month of trading_orders
   * (archived: no lookup can find it any more) and that no attached fill references. Batched, oldest first
   * (index order_keys_created, migration 021). Returns the number of keys deleted.
   */
  async pruneOrderKeys(beforeMs: number): Promise<number> {
    let pruned = 0;
    for (;;) {
      const { rows } = await this.db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM order_keys WHERE id IN (
             SELECT k.id FROM order_keys k
              WHERE k.created_at < $1
                AND NOT EXISTS (SELECT 1 FROM trading_orders o WHERE o.id = k.id AND o.created_at = k.created_at)
                AND NOT EXISTS (SELECT 1 FROM trading_executions e WHERE e.order_id = k.id)
              ORDER BY k.created_at LIMIT ${PRUNE_BATCH})
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [new Date(beforeMs)],
      );
      pruned += rows[0]!.n;
      if (rows[0]!.n < PRUNE_BATCH) return pruned;
    }
  }

  /** Puts an archived month back: the inverse of `archive`. */
  async restore(db: Database, table: PartitionedTable, name: string): Promise<void> {
    const match = /_y(\d{4})m(\d{2})$/.exec(name);
    if (!match || !name.startsWith(`${table}_y`)) throw new NotFoundError(`${name} is not a month partition of ${table}`);
    const from = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
    const to = new Date(monthStart(from.getTime(), 1));
    await db.transaction(async (tx) => {
      await tx.exec(`ALTER TABLE ${ARCHIVE_SCHEMA}.${name} SET SCHEMA public`);
      // The month's order keys may have been pruned: put them back (a client order id reused since by a
      // newer order keeps the newer one; the old order is then found by its listing, not by that id).
      if (table === 'trading_orders') {
        await tx.exec(`INSERT INTO order_keys (id, account_id, client_order_id, created_at) SELECT id, account_id, client_order_id, created_at FROM ${name} ON CONFLICT DO NOTHING`);
      }
      await tx.exec(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
    });
    this.known.add(name);
  }
}
