import { join } from 'node:path';
import type { TachyonConfig } from '../config/config.ts';
import type { Database } from './database.ts';

/**
 * Opens the configured database: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite (on its own
 * thread unless TACHYON_DB_THREAD=false). Each adapter's driver is loaded only when it is the one opened: an
 * instance holds the module graph (source, compiled code) of one driver, not both.
 */
export async function openDatabase(
  config: Pick<TachyonConfig, 'databaseUrl' | 'databaseReplicaUrls' | 'databasePoolSize' | 'databaseStatementTimeoutMs' | 'databasePooler' | 'databaseReplicaMaxLagMs' | 'databaseThread' | 'databaseWasmOptimize' | 'dataDir'>,
  opts: { inMemory?: boolean } = {},
): Promise<Database> {
  if (config.databaseUrl) {
    const { openServer } = await import('./pg.ts');
    return openServer({
      url: config.databaseUrl,
      replicaUrls: config.databaseReplicaUrls,
      poolSize: config.databasePoolSize,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      pooler: config.databasePooler,
      replicaMaxLagMs: config.databaseReplicaMaxLagMs,
    });
  }
  const { openEmbedded } = await import('./pglite.ts');
  // In memory (tests, in-process benchmarks) the engine stays on this thread: nothing else waits on it there.
  if (opts.inMemory) return openEmbedded(undefined);
  return openEmbedded(join(config.dataDir, 'pglite'), { thread: config.databaseThread, optimizingCompiler: config.databaseWasmOptimize });
}
