import { join } from 'node:path';
import type { TachyonConfig } from '../config/config.ts';
import type { Database } from './database.ts';
import { openEmbedded } from './pglite.ts';
import { openServer } from './pg.ts';

/** Opens the configured database: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite (on its own thread unless TACHYON_DB_THREAD=false). */
export function openDatabase(
  config: Pick<TachyonConfig, 'databaseUrl' | 'databaseReplicaUrls' | 'databasePoolSize' | 'databaseStatementTimeoutMs' | 'databasePooler' | 'databaseReplicaMaxLagMs' | 'databaseThread' | 'dataDir'>,
  opts: { inMemory?: boolean } = {},
): Promise<Database> {
  if (config.databaseUrl) {
    return openServer({
      url: config.databaseUrl,
      replicaUrls: config.databaseReplicaUrls,
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      pooler: config.databasePooler,
      replicaMaxLagMs: config.databaseReplicaMaxLagMs,
    });
  }
  // In memory (tests, in-process benchmarks) the engine stays on this thread: nothing else waits on it there.
  if (opts.inMemory) return openEmbedded(undefined);
  return openEmbedded(join(config.dataDir, 'pglite'), { thread: config.databaseThread });
}
