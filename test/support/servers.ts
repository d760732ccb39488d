/**
 * Real PostgreSQL and Redis servers for tests. Each run gets its own database (dropped after)
 * and its own Redis key prefix. Without a server the suites that need it are skipped loudly;
 * under CI=true a missing server is a failure.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.TACHYON_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
export const REDIS_TEST_URL = process.env.TACHYON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return accepts(Number(port), hostname);
}

async function requireServer(name: string, url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const message = `${name} is not reachable at ${url}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: server suites must run)`);
  console.warn(`\n!!! SKIPPED: ${message}; the ${name} suites did not run.\n`);
  return false;
}

export const pgAvailable = () => requireServer('PostgreSQL', PG_ADMIN_URL);
export const redisAvailable = () => requireServer('Redis', REDIS_TEST_URL);

export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named database on the test server; `drop()` removes it. */
export async function createTempDatabase(label = 'test'): Promise<TempDatabase> {
  const name = `tachyon_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Deletes every key under a run's prefix (suites call it after they close). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_TEST_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}

/** A Redis key prefix unique to this run. */
export function redisPrefix(label = 'test'): string {
  return `tachyon:${label}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** True when something accepts a TCP connection on host:port within a second. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}
