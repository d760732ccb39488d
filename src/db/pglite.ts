/**
 * Embedded adapter: PostgreSQL compiled to WebAssembly (PGlite), in a data directory or in memory.
 * PGlite has a single connection, so statements are serialized by PGlite itself; a transaction
 * holds that connection, which is why hot paths batch many writes into one transaction.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../kernel/errors.ts';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, PoolStats, Queryable, QueryObserver, QueryResult } from './database.ts';
import { Observers, singleConnectionStats } from './database.ts';
import { INITDB_PARAMS, initEmbeddedDataDir, isInitialized } from './pglite-init.ts';
import { ThreadedEmbeddedDatabase } from './pglite-thread.ts';

/**
 * One process at a time may open an embedded data directory (PGlite is not multi-process):
 * a pid file guards it so `tachyon seed` next to a running server fails with a clear message.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = join(dataDir, 'tachyon.pid');
  try {
    const pid = Number(readFileSync(lockFile, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new ConfigError(`The embedded database in ${dataDir} is in use by process ${pid}. Stop it first, or use a PostgreSQL server (DATABASE_URL) to share data between processes.`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface EmbeddedOptions {
  /**
   * Run the engine on a worker thread of its own (TACHYON_DB_THREAD): its statements then never
   * hold the event loop that serves requests (a COPY slice of the background history load, a
   * roll-up, a slow query); each statement pays one message round trip between the threads.
   */
  thread?: boolean;
}

export async function openEmbedded(dataDir: string | undefined, options: EmbeddedOptions = {}): Promise<Database> {
  let unlock = () => {};
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
    if (!isInitialized(dataDir)) {
      try {
        await initEmbeddedDataDir(dataDir);
      } catch (error) {
        unlock();
        throw error;
      }
    }
  }
  if (options.thread) {
    try {
      return await ThreadedEmbeddedDatabase.open(dataDir, unlock);
    } catch (error) {
      unlock();
      throw error;
    }
  }
  const db = newPglite(dataDir);
  await db.waitReady;
  return new EmbeddedDatabase(db, unlock);
}

/** The engine as every embedded database opens it (in this thread or in the engine's worker thread). */
export function newPglite(dataDir: string | undefined): PGlite {
  return new PGlite({
    ...(dataDir ? { dataDir } : {}),
    initDbStartParams: INITDB_PARAMS,
    // int8 columns hold fixed-point money and ids, always inside the safe-integer range.
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
}

/** COPY … FROM text rows: PGlite reads COPY input from a virtual file backed by a Blob. */
export async function copyInto(db: PGlite, table: string, columns: readonly string[], rows: string): Promise<void> {
  await db.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob([rows]) });
}

type PgliteLike = Pick<PGlite, 'query' | 'exec'>;

export function wrap(target: PgliteLike): Queryable {
  return {
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[] | undefined);
      // PGlite reports affectedRows 0 for a SELECT: rows returned count as well, like pg's rowCount.
      return { rows: result.rows, rowCount: Math.max(result.rows.length, result.affectedRows ?? 0) };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

class EmbeddedDatabase implements Database {
  readonly kind = 'embedded' as const;
  readonly replica: Queryable;
  private readonly observers = new Observers();
  private readonly plain: Queryable;
  private pendingTransactions = 0;

  constructor(
    private readonly db: PGlite,
    private readonly unlock: () => void,
  ) {
    this.plain = wrap(db);
    this.replica = this;
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.observers.time(sql, params, 'primary', () => this.plain.query<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.plain.exec(sql);
  }

  copyFrom(table: string, columns: readonly string[], rows: string): Promise<void> {
    return copyInto(this.db, table, columns, rows);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.pendingTransactions++;
    try {
      return await this.db.transaction((tx) => fn(wrap(tx)));
    } finally {
      this.pendingTransactions--;
    }
  }

  stats(): PoolStats {
    return singleConnectionStats(this.pendingTransactions);
  }

  observe(observer: QueryObserver): () => void {
    return this.observers.add(observer);
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
    this.unlock();
  }
}
