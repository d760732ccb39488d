/**
 * Whether a statement locks two rows in order: `first` is held by another transaction, the statement
 * runs until it waits for it, and `second` is then probed with NOWAIT. A statement that locks in
 * order has not reached `second` yet (free); one that locks in another order already holds it.
 * PostgreSQL server only (PGlite has one connection).
 */
import pg from 'pg';
import { expect } from 'vitest';

export async function secondFreeWhileWaitingOnFirst(url: string, table: string, rows: { first: string; second: string }, statement: () => Promise<unknown>): Promise<boolean> {
  const holder = new pg.Client({ connectionString: url });
  const probe = new pg.Client({ connectionString: url });
  await Promise.all([holder.connect(), probe.connect()]);
  try {
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM ${table} WHERE name = $1 FOR UPDATE`, [rows.first]);
    const running = statement().catch(() => {});
    await expect
      .poll(async () => Number((await probe.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n), { timeout: 30_000, interval: 50 })
      .toBeGreaterThan(0);
    await probe.query('BEGIN');
    const free = await probe.query(`SELECT 1 FROM ${table} WHERE name = $1 FOR UPDATE NOWAIT`, [rows.second]).then(
      () => true,
      () => false,
    );
    await probe.query('ROLLBACK');
    await holder.query('ROLLBACK');
    await running;
    return free;
  } finally {
    await Promise.all([holder.end(), probe.end()]);
  }
}
