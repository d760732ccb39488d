/**
 * Server adapter: a pg connection pool to the primary and, when configured, one pool per read
 * replica (round-robin) for queries that tolerate replication lag.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { Database, PoolStats, Queryable, QueryObserver, QueryResult } from './database.ts';
import { Observers } from './database.ts';

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
}

export async function openServer(options: ServerOptions): Promise<Database> {
  const makePool = (url: string) =>
    new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      types: typeOverrides,
      application_name: options.applicationName ?? 'tachyon',
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
    });
  const primary = makePool(options.url);
  const replicas = (options.replicaUrls ?? []).map(makePool);
  for (const pool of [primary, ...replicas]) {
    // An idle client's connection dropping (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => {});
  }
  const client = await primary.connect(); // fail fast on a wrong URL
  client.release();
  return new ServerDatabase(primary, replicas);
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
  private nextReplica = 0;

  constructor(
    private readonly primary: pg.Pool,
    private readonly replicaPools: pg.Pool[],
  ) {
    this.plain = queryableOf(primary);
    const replicaQueryables = replicaPools.map(queryableOf);
    this.replica =
      replicaQueryables.length === 0
        ? this
        : {
            query: <T>(sql: string, params?: readonly unknown[]) => {
              const target = replicaQueryables[this.nextReplica++ % replicaQueryables.length]!;
              return this.observers.time(sql, params, 'replica', () => target.query<T>(sql, params));
            },
            exec: (sql: string) => this.exec(sql),
          };
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
      await pipeline(Readable.from([rows]), client.query(copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
    } finally {
      client.release();
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(queryableOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
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
    await Promise.all([this.primary.end(), ...this.replicaPools.map((p) => p.end())]);
  }
}
