/**
 * Embedded adapter: PostgreSQL compiled to WebAssembly (PGlite), in a data directory or in memory.
 * PGlite has a single connection, so statements are serialized by PGlite itself; a transaction
 * holds that connection, which is why hot paths batch many writes into one transaction.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '../kernel/errors.ts';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, EngineMemory, PoolStats, Queryable, QueryObserver, QueryResult, StatementOptions } from './database.ts';
import { Observers, singleConnectionStats } from './database.ts';
import { INITDB_PARAMS, initEmbeddedDataDir, isInitialized } from './pglite-init.ts';
import { PreparedStatements } from './pglite-prepared.ts';
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
  /**
   * An in-memory engine starts from this data directory (PGlite's `dumpDataDir()`) instead of running
   * initdb: tests open hundreds of in-memory engines, and initdb took 20-50 s each on a loaded machine.
   */
  from?: Blob;
  /**
   * Let V8 recompile PostgreSQL's hot WebAssembly functions with its optimizing tier
   * (TACHYON_DB_WASM_OPTIMIZE, default on). Off, the engine runs on V8's baseline code only and orders
   * take 2-4× as long; it saved the 65-85 MiB the optimizing compiles' zones left in glibc's arenas, which
   * the mmap threshold of src/kernel/malloc-tuning.ts (the embedded default) also returns (docs/benchmarks.md#memory).
   * Unset: V8's default (both tiers).
   */
  optimizingCompiler?: boolean;
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
      return await ThreadedEmbeddedDatabase.open(dataDir, unlock, options.optimizingCompiler);
    } catch (error) {
      unlock();
      throw error;
    }
  }
  const db = newPglite(dataDir, options.from, options.optimizingCompiler);
  await db.waitReady;
  return new EmbeddedDatabase(db, unlock);
}

/** The engine as every embedded database opens it (in this thread or in the engine's worker thread). */
export function newPglite(dataDir: string | undefined, from?: Blob, optimizingCompiler?: boolean): PGlite {
  // V8's flags are per process and read when the module is compiled (in the constructor): set before it.
  if (optimizingCompiler !== undefined) setFlagsFromString(optimizingCompiler ? '--no-liftoff-only' : '--liftoff-only');
  return new PGlite({
    ...(dataDir ? { dataDir } : {}),
    ...(from ? { loadDataDir: from } : {}),
    initDbStartParams: INITDB_PARAMS,
    // int8 columns hold fixed-point money and ids, always inside the safe-integer range.
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
}

/** The engine's WebAssembly memory (PGlite's Emscripten module), grown so far. */
export function wasmMemoryBytes(db: PGlite): number {
  return db.Module.wasmMemory.buffer.byteLength;
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

/** In this thread PGlite's own lock orders statements: `urgent` has no queue to jump here (in memory: tests, in-process benchmarks). */
class EmbeddedDatabase implements Database {
  readonly kind = 'embedded' as const;
  readonly replica: Queryable;
  private readonly observers = new Observers();
  private readonly plain: Queryable;
  private readonly prepared: PreparedStatements;
  private pendingTransactions = 0;

  constructor(
    private readonly db: PGlite,
    private readonly unlock: () => void,
  ) {
    this.plain = wrap(db);
    this.prepared = new PreparedStatements(db);
    this.replica = this;
  }

  query<T>(sql: string, params?: readonly unknown[], options?: StatementOptions): Promise<QueryResult<T>> {
    const name = options?.prepared;
    return this.observers.time(sql, params, 'primary', () => (name ? this.prepared.query<T>(name, sql, params) : this.plain.query<T>(sql, params)));
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

  memory(): Promise<EngineMemory> {
    return Promise.resolve({ wasmMemoryBytes: wasmMemoryBytes(this.db), threadHeapBytes: 0 });
  }

  observe(observer: QueryObserver): () => void {
    return this.observers.add(observer);
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
    this.unlock();
  }
}
