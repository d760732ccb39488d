/**
 * The database port. Components depend on this interface only; adapters exist for the embedded
 * engine (PGlite) and a PostgreSQL server pool (pg). Both speak the same SQL and `$n` parameters.
 */
import type { ReplicaStatus } from './replicas.ts';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * Hints for a hot statement. The embedded engine (one connection) uses them; the server pool ignores
 * them (its connections run statements side by side, and a pooler in transaction mode would not keep
 * a named statement on the connection that prepared it).
 */
export interface StatementOptions {
  /**
   * Keep the statement prepared under this name: later calls skip parsing and planning. One name,
   * one SQL text. Outside a transaction only (inside one the hint is ignored).
   */
  prepared?: string;
  /**
   * Start before statements queued for the engine but not started yet (a commit callers wait on,
   * queued behind the history load's COPY slices, quote snapshots and bar writes). A statement
   * already running is never interrupted.
   */
  urgent?: boolean;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: StatementOptions): Promise<QueryResult<T>>;
  /** Runs one or more statements without parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface QueryObservation {
  sql: string;
  durationMs: number;
  ok: boolean;
  /** `primary` or `replica`. */
  target: 'primary' | 'replica';
  /** Rows returned or affected (0 when the query failed). */
  rows: number;
  /**
   * The query's parameters, by reference: an observer that keeps them (to explain a slow statement
   * later) keeps only the ones it samples, and never changes them.
   */
  params: readonly unknown[] | undefined;
}

export type QueryObserver = (observation: QueryObservation) => void;

export interface EngineMemory {
  /** PostgreSQL's WebAssembly memory as grown so far (an upper bound: only touched pages are resident). */
  wasmMemoryBytes: number;
  /** The V8 heap of the engine's own thread (0 in-process: it is the main heap). */
  threadHeapBytes: number;
}

export interface Database extends Queryable {
  readonly kind: 'embedded' | 'server';
  /** Where read-only queries that tolerate replica lag go; the primary when there is no replica. */
  readonly replica: Queryable;
  /**
   * Bulk load with COPY (text format: tab-separated columns, newline-separated rows): about twice
   * the rate of multi-row INSERTs on both engines. No ON CONFLICT: callers clear the range first.
   */
  copyFrom(table: string, columns: readonly string[], rows: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  /** Memory the engine holds in this process (embedded only): its WebAssembly memory, and its thread's heap when it has one. */
  memory?(): Promise<EngineMemory>;
  /** Read replicas' state (usable, lag) when the adapter has any. */
  replicas?(): ReplicaStatus[];
  /** Observers see every query's duration (metrics, slow-query log); adding one costs one call per query. */
  observe(observer: QueryObserver): () => void;
  close(): Promise<void>;
}

/** Shared observer plumbing for the adapters. */
/** Pool statistics of an engine with one connection (PGlite): one transaction runs, the rest wait. */
export function singleConnectionStats(pendingTransactions: number): PoolStats {
  const busy = Math.min(1, pendingTransactions);
  return { total: 1, idle: 1 - busy, waiting: Math.max(0, pendingTransactions - 1), max: 1 };
}

export class Observers {
  private readonly list = new Set<QueryObserver>();
  add(observer: QueryObserver): () => void {
    this.list.add(observer);
    return () => this.list.delete(observer);
  }
  get active(): boolean {
    return this.list.size > 0;
  }
  emit(observation: QueryObservation): void {
    for (const observer of this.list) observer(observation);
  }
  /** Wraps a query so its duration is reported when anyone listens. */
  async time<R extends { rowCount: number }>(sql: string, params: readonly unknown[] | undefined, target: 'primary' | 'replica', run: () => Promise<R>): Promise<R> {
    if (this.list.size === 0) return run();
    const start = performance.now();
    try {
      const result = await run();
      this.emit({ sql, durationMs: performance.now() - start, ok: true, target, rows: result.rowCount, params });
      return result;
    } catch (error) {
      this.emit({ sql, durationMs: performance.now() - start, ok: false, target, rows: 0, params });
      throw error;
    }
  }
}
