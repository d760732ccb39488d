/**
 * The system a chaos run owns: a fresh database on the given PostgreSQL server, fault proxies in
 * front of PostgreSQL and Redis, and an N-instance `tachyon cluster` (LocalCluster: HAProxy, the
 * supervisor that restarts a killed instance) whose instances reach both servers only through the
 * proxies. Redis may be shared: every key and channel the instances use carries a prefix unique to
 * the run, deleted at the end; the database is dropped. `stop()` undoes everything it started.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { LocalCluster } from '../../cluster/local-cluster.ts';
import type { ClusterInstance } from '../../cluster/local-cluster.ts';
import { FaultProxy } from './fault-proxy.ts';

export interface ChaosEnvironmentOptions {
  instances: number;
  /** HAProxy listens here, its stats on +1, instance i on +10+i-1; default: a free block. */
  basePort?: number;
  /** Any database on the PostgreSQL server; the run creates its own database beside it. */
  databaseUrl: string;
  redisUrl: string;
  /** Logs, haproxy.cfg, state.json and each instance's data directory. */
  runDir: string;
  /** Instance environment under the run's own settings (the caller's environment, tuning). */
  env: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** Small and quiet instances: a chaos run is about failures under a steady load, not the feed's volume. */
const INSTANCE_DEFAULTS: NodeJS.ProcessEnv = {
  TACHYON_INSTRUMENTS: '200',
  TACHYON_TICK_RATE: '200',
  TACHYON_SEED_DAYS: '0',
  TACHYON_ANALYSIS_THREADS: '1',
  // The generator and three instances share this machine: a stall while survivors take over accounts is not overload.
  TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
  LOG_LEVEL: 'warn',
};

export class ChaosEnvironment {
  private constructor(
    readonly cluster: LocalCluster,
    readonly pg: FaultProxy,
    readonly redis: FaultProxy,
    /** The run's database, direct (not through the proxy): for the checks after the run. */
    readonly databaseUrl: string,
    readonly adminToken: string,
    private readonly cleanup: Cleanup,
  ) {}

  get url(): string {
    return this.cluster.url;
  }

  instances(): ClusterInstance[] {
    return this.cluster.instances();
  }

  /** The running process of an instance, from the supervisor. */
  pidOf(name: string): number | undefined {
    return this.cluster.supervisor.status()[name]?.pid;
  }

  static async start(o: ChaosEnvironmentOptions): Promise<ChaosEnvironment> {
    const cleanup = new Cleanup();
    try {
      const database = await createDatabase(o.databaseUrl);
      cleanup.add(database.drop);
      const pgUrl = new URL(database.url);
      const pgProxy = await FaultProxy.start({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
      cleanup.add(() => pgProxy.close());
      const redisUrl = new URL(o.redisUrl);
      const redisProxy = await FaultProxy.start({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
      cleanup.add(() => redisProxy.close());
      const prefix = `tachyon:chaos:${randomBytes(4).toString('hex')}:`;
      cleanup.add(() => deleteKeys(o.redisUrl, prefix));

      const proxiedDb = new URL(database.url);
      proxiedDb.hostname = '127.0.0.1';
      proxiedDb.port = String(pgProxy.port);
      const proxiedRedis = new URL(o.redisUrl);
      proxiedRedis.hostname = '127.0.0.1';
      proxiedRedis.port = String(redisProxy.port);
      const adminToken = randomBytes(24).toString('base64url');
      const env: NodeJS.ProcessEnv = {
        ...INSTANCE_DEFAULTS,
        ...o.env,
        DATABASE_URL: proxiedDb.href,
        REDIS_URL: proxiedRedis.href,
        TACHYON_CACHE_PREFIX: `${prefix}cache`,
        TACHYON_BUS_CHANNEL: `${prefix}bus`,
        TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
        TACHYON_FAULT_INJECTION: 'true',
        TACHYON_DATA_DIR: o.runDir,
        TACHYON_ADMIN_TOKEN: adminToken,
        TACHYON_DEMO_TOKEN: randomBytes(24).toString('base64url'),
      };
      const port = o.basePort ?? (await freeBlock(o.instances));
      o.log?.(`starting ${o.instances} instances behind HAProxy on :${port} (database ${database.name}, logs in ${o.runDir})…`);
      const cluster = await LocalCluster.start({
        instances: o.instances,
        host: '127.0.0.1',
        port,
        statsPort: port + 1,
        basePort: port + 10,
        runDir: o.runDir,
        env,
        report: (e) => {
          if (e.event !== 'started') o.log?.(`[cluster] ${e.name} ${e.event}${e.code !== undefined ? ` code=${e.code}` : ''}${e.signal ? ` signal=${e.signal}` : ''}`);
        },
      });
      cleanup.add(() => cluster.stop());
      return new ChaosEnvironment(cluster, pgProxy, redisProxy, database.url, adminToken, cleanup);
    } catch (error) {
      await cleanup.run();
      throw error;
    }
  }

  /** Stops the cluster (instances drained first), then the proxies, then drops the database and the Redis keys. */
  async stop(options: { keepDatabase?: boolean } = {}): Promise<void> {
    await this.cleanup.run(options.keepDatabase ? 1 : 0);
  }

  /** Stops the cluster only (the database stays for the checks). */
  async stopCluster(): Promise<void> {
    await this.cluster.stop();
  }
}

/** Undo steps, run last-added first; each runs once even if an earlier one fails. */
class Cleanup {
  private readonly steps: Array<() => Promise<void>> = [];

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Runs every step but the first `keep` ones (the database is the first). */
  async run(keep = 0): Promise<void> {
    const errors: unknown[] = [];
    while (this.steps.length > keep) {
      const step = this.steps.pop()!;
      await step().catch((error: unknown) => errors.push(error));
    }
    this.steps.length = 0;
    if (errors.length > 0) throw errors[0];
  }
}

async function createDatabase(serverUrl: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `tachyon_chaos_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A port P with P, P+1 and P+10… free for HAProxy, its stats and the instances. */
async function freeBlock(instances: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = [base, base + 1, ...Array.from({ length: instances }, (_, i) => base + 10 + i)];
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports found for the chaos cluster: pass --base-port');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
