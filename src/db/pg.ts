/**
 * Server adapter: a pg connection pool to the primary and, when configured, one pool per read
 * replica (round-robin over the healthy ones, see replicas.ts) for queries that tolerate
 * replication lag. Every query has a deadline twice over: the server cancels it after
 * `statementTimeoutMs`, and the client gives up shortly after that even when the server cannot
 * answer at all (a partitioned network), so a request fails fast instead of hanging.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { Database, PoolStats, Queryable, QueryObserver, QueryResult } from './database.ts';
import { Observers } from './database.ts';
import { ReplicaSet, sqlStateOf, type ReplicaStatus } from './replicas.ts';

const INT8_OID = 20;
// Per-pool type parsing (not pg's global registry): int8 holds ids and fixed-point money, safe as numbers.
const typeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface ServerOptions {
  url: string;
  replicaUrls?: string[];
  poolSize: number;
  applicationName?: string;
  statementTimeoutMs?: number;
  /**
   * `transaction`: the URLs point at a transaction-mode pooler (PgBouncer), which refuses a
   * `statement_timeout` startup parameter; the server-side timeout is then the pooler's
   * (deploy/pgbouncer: `connect_query`) and the client-side deadline stays.
   */
  pooler?: 'none' | 'transaction';
  /** Replicas lagging more than this are skipped (default 5 s). */
  replicaMaxLagMs?: number;
}

/** The client-side deadline is this much longer than the server's, so a live server's cancel wins. */
const CLIENT_TIMEOUT_MARGIN_MS = 500;
/** COPY batches are bulk loads (history seeding), bounded by their size rather than the statement timeout. */
const COPY_TIMEOUT_MS = 10 * 60_000;

export async function openServer(options: ServerOptions): Promise<Database> {
  const statementTimeout = options.statementTimeoutMs ?? 5_000;
  const makePool = (url: string) =>
    new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      types: typeOverrides,
      application_name: options.applicationName ?? 'tachyon',
      ...(options.pooler === 'transaction' ? {} : { statement_timeout: statementTimeout }),
      query_timeout: statementTimeout + CLIENT_TIMEOUT_MARGIN_MS,
      idleTimeoutMillis: 30_000,
      // Also bounds the wait for a free pooled connection.
      connectionTimeoutMillis: Math.min(5_000, statementTimeout + CLIENT_TIMEOUT_MARGIN_MS),
    });
  const primary = makePool(options.url);
  const replicas = (options.replicaUrls ?? []).map(makePool);
  for (const pool of [primary, ...replicas]) {
    // An idle client's connection dropping (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => {});
  }
  const client = await primary.connect(); // fail fast on a wrong URL
  client.release();
  return new ServerDatabase(primary, replicas, options.replicaMaxLagMs ?? 5_000);
}

function queryableOf(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await target.query(sql);
    },
  };
}

class ServerDatabase implements Database {
  readonly kind = 'server' as const;
  readonly replica: Queryable;
  private readonly observers = new Observers();
  private readonly plain: Queryable;
  private readonly replicaSet: ReplicaSet | undefined;

  constructor(
    private readonly primary: pg.Pool,
    private readonly replicaPools: pg.Pool[],
    replicaMaxLagMs: number,
  ) {
    this.plain = queryableOf(primary);
    if (replicaPools.length === 0) {
      this.replica = this;
      return;
    }
    const replicaSet = new ReplicaSet(replicaPools.map(queryableOf), replicaMaxLagMs);
    this.replicaSet = replicaSet;
    this.replica = {
      query: <T>(sql: string, params?: readonly unknown[]) =>
        replicaSet.query<T>(
          (target) => this.observers.time(sql, params, 'replica', () => target.query<T>(sql, params)),
          () => this.query<T>(sql, params),
        ),
      exec: (sql: string) => this.exec(sql),
    };
    replicaSet.start();
  }

  replicas(): ReplicaStatus[] {
    return this.replicaSet?.status() ?? [];
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.observers.time(sql, params, 'primary', () => this.plain.query<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.plain.exec(sql);
  }

  async copyFrom(table: string, columns: readonly string[], rows: string): Promise<void> {
    const client = await this.primary.connect();
    try {
      const copy = Object.assign(copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN`), { query_timeout: COPY_TIMEOUT_MS });
      await pipeline(Readable.from([rows]), client.query(copy));
      client.release();
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(queryableOf(client));
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // A connection whose query timed out client-side may still be busy (or dead): never pool it again.
      const rolledBack = sqlStateOf(error) !== undefined && (await client.query('ROLLBACK').then(() => true, () => false));
      client.release(rolledBack ? undefined : (error as Error));
      throw error;
    }
  }

  stats(): PoolStats {
    return {
      total: this.primary.totalCount,
      idle: this.primary.idleCount,
      waiting: this.primary.waitingCount,
      max: this.primary.options.max ?? 10,
    };
  }

  observe(observer: QueryObserver): () => void {
    return this.observers.add(observer);
  }

  async close(): Promise<void> {
    this.replicaSet?.stop();
    await Promise.all([this.primary.end(), ...this.replicaPools.map((p) => p.end())]);
  }
}
