import { describe, expect, it } from 'vitest';
import { migrate, loadMigrations } from '../../src/db/migrate.ts';
import { engines } from '../support/engines.ts';

describe.each(await engines())('migrations on $name', (engine) => {
  it('apply once, record versions, and create the partitioned bars table', async () => {
    const { db, cleanup } = await engine.open();
    try {
      const first = await migrate(db);
      expect(first.map((m) => m.version)).toEqual(loadMigrations().map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
      const { rows } = await db.query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'bars_1m'");
      expect(rows[0]?.relkind).toBe('p');
      const idx = await db.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'orders' ORDER BY 1");
      expect(idx.rows.map((r) => r.indexname)).toEqual(
        expect.arrayContaining(['orders_account_client_id', 'orders_account_created', 'orders_open']),
      );
    } finally {
      await cleanup();
    }
  }, 120_000); // opening an in-memory PGlite and migrating takes ~17 s on a busy 2-core machine

  it('rolls back a failing transaction completely', async () => {
    const { db, cleanup } = await engine.open();
    try {
      await migrate(db);
      await expect(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO users (name, role) VALUES ('x', 'trader')");
          await tx.query("INSERT INTO users (name, role) VALUES ('y', 'nope')");
        }),
      ).rejects.toThrow();
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      expect(rows[0]?.n).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
