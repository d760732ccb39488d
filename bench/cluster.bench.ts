/**
 * Scaling out on one machine: the bench:orders load (one account per client, market and resting
 * limit orders) through HAProxy to 1, 2 and 3 instances (`tachyon cluster`'s LocalCluster) on one
 * PostgreSQL server and one Redis, next to the reference in the same run: one instance without
 * HAProxy. Each configuration gets a fresh database on the same server.
 * On a machine with few cores the instances, HAProxy, PostgreSQL and the load generator share them:
 * the curve then shows the cost of the extra hop and processes, not a speed-up.
 * Not yet measured: the forwarding cost of an order sent to an instance that does not own its
 * account (account ownership arrives with the scale-core work).
 * Writes bench/results/cluster.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/cluster/local-cluster.ts';
import { createTempDatabase, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../test/support/servers.ts';
import { figures, summary, type Run } from './support/closed-loop.ts';
import { orderLoad } from './support/order-load.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, freePort, startPlatform } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const LOAD = { concurrency: Number(process.env.BENCH_CONCURRENCY ?? 32), warmupMs: 3_000, measureMs: Number(process.env.BENCH_SECONDS ?? 10) * 1000 };
const INSTANCES = (process.env.BENCH_INSTANCES ?? '1,2,3').split(',').map(Number);

function instanceEnv(databaseUrl: string): Record<string, string> {
  const prefix = redisPrefix('bench-cluster');
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS_TEST_URL,
    TACHYON_CACHE_PREFIX: `${prefix}cache`,
    TACHYON_BUS_CHANNEL: `${prefix}bus`,
    TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
    TACHYON_TICK_RATE: '1000',
    TACHYON_RATE_LIMIT: '0',
    TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000',
    TACHYON_SEED_DAYS: '0',
    TACHYON_DEMO_TOKEN: BENCH_DEMO_TOKEN,
    TACHYON_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
  };
}

async function direct(): Promise<Run> {
  const database = await createTempDatabase('bench_cluster');
  try {
    const server = await startPlatform(instanceEnv(database.url));
    try {
      return await orderLoad(server.url, LOAD);
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
  }
}

async function throughHaproxy(instances: number): Promise<Run> {
  const database = await createTempDatabase('bench_cluster');
  const runDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-cluster-'));
  try {
    const basePort = await freePort();
    const cluster = await LocalCluster.start({
      instances,
      host: '127.0.0.1',
      port: await freePort(),
      statsPort: await freePort(),
      // Consecutive ports from a free one: good enough on a quiet machine; a clash fails loudly.
      basePort,
      runDir,
      env: { ...process.env, ...instanceEnv(database.url) },
    });
    try {
      return await orderLoad(cluster.url, LOAD);
    } finally {
      await cluster.stop();
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
    await database.drop();
  }
}

if (!(await pgAvailable()) || !(await redisAvailable())) {
  console.error('bench:cluster needs a PostgreSQL server and Redis (TACHYON_TEST_PG_URL, TACHYON_TEST_REDIS_URL) and haproxy');
  process.exit(1);
}
console.log(`cluster: ${LOAD.concurrency} concurrent clients, one account each, ${LOAD.warmupMs / 1000} s warm-up + ${LOAD.measureMs / 1000} s measured per configuration; instances, HAProxy, PostgreSQL and the load generator share this machine's cores`);
const reference = await direct();
const runs: Array<[number, Run]> = [];
for (const n of INSTANCES) runs.push([n, await throughHaproxy(n)]);
console.log('');
printTable([summary('reference: 1 instance, no HAProxy', reference), ...runs.map(([n, run]) => summary(`HAProxy → ${n} instance${n > 1 ? 's' : ''}`, run))]);
const perSecond = (run: Run) => run.ok / run.seconds;
for (const [n, run] of runs) console.log(`HAProxy → ${n}: ${(perSecond(run) / perSecond(reference)).toFixed(2)}× the reference's orders/s`);
const file = writeResults('cluster', {
  load: { ...LOAD, mix: 'bench:orders mix: 70% market (alternating buy/sell), 30% resting limit buys, quantity 1, one account per client' },
  reference: { name: 'one instance without HAProxy, same database server and load', ...figures(reference) },
  throughHaproxy: Object.fromEntries(runs.map(([n, run]) => [`${n}`, { ...figures(run), ratioToReference: perSecond(run) / perSecond(reference) }])),
  forwarding: 'not measured yet: needs account ownership (scale-core)',
});
console.log(`wrote ${file}`);
