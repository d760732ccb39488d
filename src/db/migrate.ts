/**
 * Ordered SQL migrations (src/db/migrations/NNN_name.sql), applied at start and by `tachyon migrate`.
 * All pending migrations run in one transaction under an advisory lock, so several instances
 * starting together against one server apply them exactly once.
 *
 * Rolling back: each migration has a down step beside it (NNN_name.down.sql), applied newest first by
 * `tachyon migrate --down-to N`, also in one transaction. A migration that cannot be undone safely
 * says so on a line `-- irreversible: <why>` instead (expand/contract, docs/operations.md), and a
 * roll-back across it is refused. test/db/rollback.test.ts holds every migration to one of the two.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConflictError } from '../kernel/errors.ts';
import type { Database, Queryable } from './database.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_KEY = 7_245_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** The down step's SQL (NNN_name.down.sql), when the migration has one. */
  down?: string;
  /** Why the migration cannot be undone (its `-- irreversible:` line), when it says so. */
  irreversible?: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(dir + file, 'utf8');
      const downFile = `${dir}${file.slice(0, -4)}.down.sql`;
      const irreversible = /^--\s*irreversible:\s*(.+)$/m.exec(sql)?.[1]?.trim();
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        sql,
        ...(existsSync(downFile) ? { down: readFileSync(downFile, 'utf8') } : {}),
        ...(irreversible ? { irreversible } : {}),
      };
    });
}

const label = (m: Pick<Migration, 'version' | 'name'>) => `${String(m.version).padStart(3, '0')}_${m.name}`;

/** Applies pending migrations; returns the ones applied now. */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<Migration[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    }
    return pending;
  });
}

/** The applied migrations above `version`, newest first, as this code knows them (throws when one cannot be undone). */
export async function rollbackPlan(db: Queryable, version: number, migrations = loadMigrations()): Promise<Migration[]> {
  const present = await db.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!present.rows[0]?.present) return [];
  const { rows } = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations WHERE version > $1 ORDER BY version DESC', [version]);
  const known = new Map(migrations.map((m) => [m.version, m]));
  return rows.map((row) => {
    const migration = known.get(row.version);
    // A newer release's migration: only that release has its down step.
    if (!migration) throw new ConflictError(`migration ${label(row)} was applied by a newer release: run that release's \`tachyon migrate --down-to ${version}\``);
    if (migration.irreversible) throw new ConflictError(`migration ${label(migration)} cannot be rolled back: ${migration.irreversible}`);
    if (migration.down === undefined) throw new ConflictError(`migration ${label(migration)} has no down step (${label(migration)}.down.sql)`);
    return migration;
  });
}

/** Undoes every applied migration above `version`, newest first, in one transaction; returns the ones undone. */
export async function migrateDown(db: Database, version: number, migrations = loadMigrations()): Promise<Migration[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const plan = await rollbackPlan(tx, version, migrations);
    for (const migration of plan) {
      await tx.exec(migration.down!);
      await tx.query('DELETE FROM schema_migrations WHERE version = $1', [migration.version]);
    }
    return plan;
  });
}
