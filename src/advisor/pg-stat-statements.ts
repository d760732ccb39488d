/**
 * pg_stat_statements on a PostgreSQL server: the server's own view of every statement, including the
 * ones this instance did not issue (other instances, migrations, operators). The extension needs
 * `shared_preload_libraries`; when it is not loaded the answer says so and how to enable it, and the
 * in-app statistics stand alone. The embedded engine has no such extension.
 */
import type { Database } from '../db/database.ts';
import { fingerprint } from '../observability/statement.ts';

export interface ServerStatement {
  /** The statement with parameters and constants as `?`, comparable with the in-app fingerprints. */
  statement: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  sharedBlocksHit: number;
  sharedBlocksRead: number;
}

export type ServerStatements =
  | { status: 'ok'; statements: ServerStatement[] }
  | { status: 'unavailable'; reason: string; statements: [] };

/** Parameters ($1) and the `?` of in-app fingerprints compare equal. */
export function comparable(sql: string): string {
  return fingerprint(sql.replace(/\$\d+/g, '?'));
}

export async function readServerStatements(db: Database, limit = 20): Promise<ServerStatements> {
  if (db.kind === 'embedded') return { status: 'unavailable', reason: 'the embedded engine (PGlite) has no pg_stat_statements: the in-app statistics are the only source', statements: [] };
  const select = () =>
    db.query<{ query: string; calls: string; total: number; mean: number; rows: string; hit: string; read: string }>(
      `SELECT query, calls, total_exec_time AS total, mean_exec_time AS mean, rows, shared_blks_hit AS hit, shared_blks_read AS read
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    );
  let result;
  try {
    result = await select();
  } catch (error) {
    if (!/does not exist/.test((error as Error).message)) return unavailable(error);
    try {
      await db.exec('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      result = await select();
    } catch (retry) {
      return unavailable(retry);
    }
  }
  return {
    status: 'ok',
    statements: result.rows.map((r) => ({
      statement: comparable(r.query),
      calls: Number(r.calls),
      totalMs: r.total,
      meanMs: r.mean,
      rows: Number(r.rows),
      sharedBlocksHit: Number(r.hit),
      sharedBlocksRead: Number(r.read),
    })),
  };
}

function unavailable(error: unknown): ServerStatements {
  const message = (error as Error).message;
  const reason = /shared_preload_libraries/.test(message)
    ? "pg_stat_statements is not loaded: add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and restart the server"
    : `pg_stat_statements cannot be read: ${message}`;
  return { status: 'unavailable', reason, statements: [] };
}
