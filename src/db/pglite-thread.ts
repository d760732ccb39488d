/**
 * The embedded engine on a worker thread of its own (pglite-worker.ts), behind the same Database
 * port. PGlite executes a statement synchronously on the thread that owns it, so on the serving
 * thread every COPY slice of the first start's history load, every roll-up and every slow query held
 * the event loop that answers requests; here they hold only the engine's thread. Statements still
 * run one at a time in the order they were sent, except that an `urgent` one (a journal commit)
 * starts before those still waiting; a transaction holds the engine until it ends, as in-process.
 */
import { Worker } from 'node:worker_threads';
import { SMALL_YOUNG_GENERATION, workerEntry } from '../kernel/project-files.ts';
import type { Database, EngineMemory, PoolStats, Queryable, QueryObserver, QueryResult, StatementOptions } from './database.ts';
import { Observers, singleConnectionStats } from './database.ts';

/** A request to the engine's thread; `tx` names an open transaction the statement belongs to. */
export type EngineRequest =
  | { id: number; op: 'query'; sql: string; params?: readonly unknown[]; tx?: number; prepared?: string; urgent?: boolean }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  | { id: number; op: 'copy'; table: string; columns: readonly string[]; rows: string }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'memory' }
  | { id: number; op: 'close' };

/** The answer to request `id` (id 0: the engine opened, or failed to). */
export type EngineReply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: SerializedError };

/** An error as it crosses threads: its message, name and primitive fields (SQLSTATE `code`, detail, …). */
export interface SerializedError {
  message: string;
  name: string;
  stack?: string;
  fields: Record<string, string | number | boolean>;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { message: String(error), name: 'Error', fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { message: error.message, name: error.name, ...(error.stack ? { stack: error.stack } : {}), fields };
}

function restoreError(serialized: SerializedError): Error {
  const error = Object.assign(new Error(serialized.message), serialized.fields);
  error.name = serialized.name;
  // The engine thread's stack says where PostgreSQL failed; this thread's says who asked.
  if (serialized.stack) error.stack = `${error.stack}\n    --- in the engine thread ---\n${serialized.stack.split('\n').slice(1).join('\n')}`;
  return error;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Request = EngineRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class ThreadedEmbeddedDatabase implements Database {
  readonly kind = 'embedded' as const;
  readonly replica: Queryable;
  private readonly observers = new Observers();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private pendingTransactions = 0;
  /** Set once the thread is gone: every later call fails with it. */
  private gone: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly unlock: () => void,
  ) {
    this.replica = this;
    worker.on('message', (reply: EngineReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(new Error(`PGlite is closed: its thread failed (${error.message})`, { cause: error })));
    worker.on('exit', (code) => this.fail(new Error(`PGlite is closed (its thread exited with code ${code})`)));
    // The thread keeps the process alive only while a statement is in flight (as a socket would).
    worker.unref();
  }

  /** Starts the thread and opens the engine in it (`dataDir` undefined: in memory). */
  static async open(dataDir: string | undefined, unlock: () => void, optimizingCompiler?: boolean): Promise<ThreadedEmbeddedDatabase> {
    const entry = workerEntry('./pglite-worker.ts', import.meta.url, { dataDir, optimizingCompiler });
    const worker = new Worker(entry.filename, { workerData: entry.workerData, resourceLimits: SMALL_YOUNG_GENERATION });
    const db = new ThreadedEmbeddedDatabase(worker, unlock);
    try {
      await db.expect(0);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return db;
  }

  query<T>(sql: string, params?: readonly unknown[], options?: StatementOptions): Promise<QueryResult<T>> {
    return this.observers.time(sql, params, 'primary', () => this.call<QueryResult<T>>({ op: 'query', sql, ...(params ? { params } : {}), ...options }));
  }

  async exec(sql: string): Promise<void> {
    await this.call({ op: 'exec', sql });
  }

  async copyFrom(table: string, columns: readonly string[], rows: string): Promise<void> {
    await this.call({ op: 'copy', table, columns, rows });
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.pendingTransactions++;
    try {
      const tx = await this.call<number>({ op: 'begin' });
      const scoped: Queryable = {
        query: <R>(sql: string, params?: readonly unknown[]) => this.call<QueryResult<R>>({ op: 'query', sql, tx, ...(params ? { params } : {}) }),
        exec: async (sql: string) => {
          await this.call({ op: 'exec', sql, tx });
        },
      };
      let result: T;
      try {
        result = await fn(scoped);
      } catch (error) {
        // The engine is released either way; the caller's error is the one that matters.
        await this.call({ op: 'end', tx, commit: false }).catch(() => {});
        throw error;
      }
      await this.call({ op: 'end', tx, commit: true });
      return result;
    } finally {
      this.pendingTransactions--;
    }
  }

  stats(): PoolStats {
    return singleConnectionStats(this.pendingTransactions);
  }

  memory(): Promise<EngineMemory> {
    return this.call<EngineMemory>({ op: 'memory' });
  }

  observe(observer: QueryObserver): () => void {
    return this.observers.add(observer);
  }

  async close(): Promise<void> {
    if (!this.gone) {
      const exited = new Promise((resolve) => this.worker.once('exit', resolve));
      try {
        await this.call({ op: 'close' });
      } finally {
        await this.worker.terminate();
        await exited;
      }
    }
    this.unlock();
  }

  private call<R>(request: Request): Promise<R> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    const answer = this.expect<R>(id);
    try {
      this.worker.postMessage({ ...request, id });
    } catch (error) {
      // A parameter that cannot be cloned (a function, a class with private state): the caller's mistake.
      this.settle({ id, ok: false, error: serializeError(error) });
    }
    return answer;
  }

  private expect<R>(id: number): Promise<R> {
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<R>((resolve, reject) => this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject }));
  }

  private settle(reply: EngineReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(restoreError(reply.error));
  }

  private fail(error: Error): void {
    this.gone ??= error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(this.gone);
  }
}
