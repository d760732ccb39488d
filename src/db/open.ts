import { join } from 'node:path';
import type { TachyonConfig } from '../config/config.ts';
import type { Database } from './database.ts';
import { openEmbedded } from './pglite.ts';
import { openServer } from './pg.ts';

/** Opens the configured database: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite. */
export function openDatabase(
  config: Pick<TachyonConfig, 'databaseUrl' | 'databaseReplicaUrls' | 'databasePoolSize' | 'databaseStatementTimeoutMs' | 'databasePooler' | 'databaseReplicaMaxLagMs' | 'dataDir'>,
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
  return openEmbedded(opts.inMemory ? undefined : join(config.dataDir, 'pglite'));
}
