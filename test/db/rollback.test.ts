/**
 * Every migration can be rolled back: up one at a time (the schema fingerprinted after each), down to
 * every earlier version (the schema must equal the one recorded going up), then up again to the end.
 */
import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/database.ts';
import { loadMigrations, migrate, migrateDown, rollbackPlan } from '../../src/db/migrate.ts';
import { engines } from '../support/engines.ts';

/** Tables, columns (type, nullability, default, generation), indexes, constraints, sequences: everything a migration shapes. */
async function schemaOf(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ item: string }>(`
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || coalesce(generation_expression, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
    UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'schema_migrations'
    UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid <> 'schema_migrations'::regclass
    UNION ALL SELECT 'relation ' || relname || ' ' || relkind::text FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'schema_migrations%'
    ORDER BY 1`);
  return rows.map((r) => r.item);
}

describe('migration files', () => {
  it('every migration has a down step or says why it cannot be undone (expand/contract)', () => {
    const missing = loadMigrations().filter((m) => m.down === undefined && m.irreversible === undefined);
    expect(missing.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}: add ${String(m.version).padStart(3, '0')}_${m.name}.down.sql or an "-- irreversible: why" line`)).toEqual([]);
  });
});

describe.each(await engines())('migrations rolled back and forth on $name', (engine) => {
  it('up one at a time, down to each earlier version with the schema it had, up again to the same end', async () => {
    const { db, cleanup } = await engine.open();
    try {
      const migrations = loadMigrations();
      await migrate(db, []); // schema_migrations only
      const shapes = new Map<number, string[]>([[0, await schemaOf(db)]]);
      for (let i = 0; i < migrations.length; i++) {
        await migrate(db, migrations.slice(0, i + 1));
        shapes.set(migrations[i]!.version, await schemaOf(db));
      }
      const full = shapes.get(migrations.at(-1)!.version)!;
      // Data outside what a step drops survives the roll-back.
      await db.query("INSERT INTO users (name, role) VALUES ('survivor', 'trader')");

      for (let i = migrations.length - 1; i >= 0; i--) {
        const target = i === 0 ? 0 : migrations[i - 1]!.version;
        const undone = await migrateDown(db, target);
        expect(undone.map((m) => m.version)).toEqual([migrations[i]!.version]);
        expect(await schemaOf(db), `schema after rolling back to ${target}`).toEqual(shapes.get(target));
        if (target >= 1) expect((await db.query("SELECT 1 FROM users WHERE name = 'survivor'")).rowCount).toBe(1);
      }
      expect(await db.query('SELECT version FROM schema_migrations')).toMatchObject({ rowCount: 0 });

      expect((await migrate(db)).map((m) => m.version)).toEqual(migrations.map((m) => m.version));
      expect(await schemaOf(db)).toEqual(full);
      // Down several at once, then up again.
      expect((await migrateDown(db, 1)).map((m) => m.version)).toEqual(migrations.slice(1).map((m) => m.version).reverse());
      expect(await schemaOf(db)).toEqual(shapes.get(1));
      await migrate(db);
      expect(await schemaOf(db)).toEqual(full);
    } finally {
      await cleanup();
    }
  }, 240_000);

  it('refuses to roll back a migration it does not know (a newer release applied it), touching nothing', async () => {
    const { db, cleanup } = await engine.open();
    try {
      const migrations = loadMigrations();
      await migrate(db);
      await db.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')");
      await expect(rollbackPlan(db, 0, migrations)).rejects.toThrow(/999_from_the_future was applied by a newer release/);
      await expect(migrateDown(db, 1, migrations)).rejects.toThrow(/newer release/);
      expect((await db.query('SELECT version FROM schema_migrations')).rowCount).toBe(migrations.length + 1);
      const irreversible = migrations.map((m) => (m.version === migrations.at(-1)!.version ? { ...m, down: undefined, irreversible: 'contract step: data moved' } : m));
      await db.query('DELETE FROM schema_migrations WHERE version = 999');
      await expect(migrateDown(db, 0, irreversible)).rejects.toThrow(/cannot be rolled back: contract step: data moved/);
    } finally {
      await cleanup();
    }
  }, 240_000);
});
