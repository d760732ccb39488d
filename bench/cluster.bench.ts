/**
 * Scaling out on one machine: the bench:orders load (one account per client, market and resting
 * limit orders) through HAProxy to 1, 2 and 3 instances (`tachyon cluster`'s LocalCluster) on one
 * PostgreSQL server and one Redis, next to the reference in the same run: one instance without
 * HAProxy. Each configuration gets a fresh database on the same server.
 * On a machine with few cores the instances, HAProxy, PostgreSQL and the load generator share them:
 * the curve then shows the cost of the extra hop and processes, not a speed-up.
 * The forwarding cost: two instances on one database without HAProxy, the same accounts' orders sent
 * first to each account's owner, then to the other instance, which forwards them to the owner.
 * Writes bench/results/cluster.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg as loadAverage, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/cluster/local-cluster.ts';
import { createTempDatabase, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../test/support/servers.ts';
import { figures, summary, type Run } from './support/closed-loop.ts';
import { createTraders, orderLoad } from './support/order-load.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, freePort, startPlatform, type Server } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const LOAD = { concurrency: Number(process.env.BENCH_CONCURRENCY ?? 32), warmupMs: 3_000, measureMs: Number(process.env.BENCH_SECONDS ?? 10) * 1000 };
const INSTANCES = (process.env.BENCH_INSTANCES ?? '1,2,3').split(',').filter(Boolean).map(Number);

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
    // Throughput of the same load on every configuration: a stall of the shared machine must not shed it.
    TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
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

const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

/** Waits until the two instances hold every shard between them, half each (the first hands extras back as the second joins). */
async function balanced(servers: Server[], shards = 256): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const held = await Promise.all(
      servers.map(async (s) => {
        const health = (await (await fetch(`${s.url}/api/health/detailed`, { headers: admin })).json()) as { dependencies: Array<{ name: string; details?: { shardsHeld?: number } }> };
        return health.dependencies.find((d) => d.name === 'account leases')?.details?.shardsHeld ?? 0;
      }),
    );
    if (held.reduce((a, b) => a + b, 0) === shards && held.every((h) => h <= Math.ceil(shards / servers.length))) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the two instances did not balance their shards within 60 s');
}

/** Each account's owning instance's URL, as the lease table has it. */
async function owners(url: string, accountIds: number[]): Promise<Array<string | null>> {
  return Promise.all(
    accountIds.map(async (id) => ((await (await fetch(`${url}/api/admin/cluster/accounts/${id}/owner`, { headers: admin })).json()) as { lease: { address: string | null } | null }).lease?.address ?? null),
  );
}

/** The same accounts' orders sent to their owners, then to the other instance (forwarded to the owner). */
async function forwarding(): Promise<{ direct: Run; forwarded: Run; moved: number }> {
  const database = await createTempDatabase('bench_cluster');
  const servers: Server[] = [];
  try {
    for (let i = 0; i < 2; i++) servers.push(await startPlatform(instanceEnv(database.url)));
    const [a, b] = servers as [Server, Server];
    await balanced(servers);
    const traders = await createTraders(a.url, LOAD.concurrency, 'fwd');
    // A shard nobody holds is taken by the first instance asked: every shard is held once balanced.
    const before = await owners(a.url, traders.map((t) => t.accountId));
    if (before.some((o) => o !== a.url && o !== b.url)) throw new Error(`an account's owner is not one of the two instances: ${before.join(', ')}`);
    const direct = await orderLoad(a.url, LOAD, { traders, target: (w) => before[w]! });
    const forwarded = await orderLoad(a.url, LOAD, { traders, target: (w) => (before[w] === a.url ? b.url : a.url) });
    const after = await owners(a.url, traders.map((t) => t.accountId));
    return { direct, forwarded, moved: after.filter((o, i) => o !== before[i]).length };
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await database.drop();
  }
}

if (!(await pgAvailable()) || !(await redisAvailable())) {
  console.error('bench:cluster needs a PostgreSQL server and Redis (TACHYON_TEST_PG_URL, TACHYON_TEST_REDIS_URL) and haproxy');
  process.exit(1);
}
console.log(`cluster: ${LOAD.concurrency} concurrent clients, one account each, ${LOAD.warmupMs / 1000} s warm-up + ${LOAD.measureMs / 1000} s measured per configuration; instances, HAProxy, PostgreSQL and the load generator share this machine's cores`);
const loadBefore = loadAverage()[0]!;
const reference = await direct();
const runs: Array<[number, Run]> = [];
for (const n of INSTANCES) runs.push([n, await throughHaproxy(n)]);
const forward = await forwarding();
const load = loadAverage();
console.log('');
printTable([
  summary('reference: 1 instance, no HAProxy', reference),
  ...runs.map(([n, run]) => summary(`HAProxy → ${n} instance${n > 1 ? 's' : ''}`, run)),
  summary('2 instances, each order to its owner', forward.direct),
  summary('2 instances, each order to the non-owner (forwarded)', forward.forwarded),
]);
const perSecond = (run: Run) => run.ok / run.seconds;
const p = (run: Run, q: number) => run.latency.getValueAtPercentile(q) / 1000;
for (const [n, run] of runs) console.log(`HAProxy → ${n}: ${(perSecond(run) / perSecond(reference)).toFixed(2)}× the reference's orders/s`);
console.log(
  `forwarding: ${(perSecond(forward.forwarded) / perSecond(forward.direct)).toFixed(2)}× the orders/s sent to the owner; p50 +${(p(forward.forwarded, 50) - p(forward.direct, 50)).toFixed(2)} ms, p99 +${(p(forward.forwarded, 99) - p(forward.direct, 99)).toFixed(2)} ms (${forward.moved} of ${LOAD.concurrency} accounts changed owner during the runs)`,
);
console.log(`load average ${loadBefore.toFixed(2)} before, ${load.map((l) => l.toFixed(2)).join(' ')} after (instances, HAProxy, PostgreSQL and the load generator share ${cpus().length} cores)`);
const file = writeResults('cluster', {
  load: { ...LOAD, mix: 'bench:orders mix: 70% market (alternating buy/sell), 30% resting limit buys, quantity 1, one account per client' },
  reference: { name: 'one instance without HAProxy, same database server and load', ...figures(reference) },
  throughHaproxy: Object.fromEntries(runs.map(([n, run]) => [`${n}`, { ...figures(run), ratioToReference: perSecond(run) / perSecond(reference) }])),
  forwarding: {
    setup: 'two instances on one database, no HAProxy; the same accounts, first each order to its owner, then to the other instance',
    toOwner: figures(forward.direct),
    toNonOwner: { ...figures(forward.forwarded), ratioToOwner: perSecond(forward.forwarded) / perSecond(forward.direct) },
    accountsMoved: forward.moved,
  },
  loadAverage: { before: loadBefore, after: load },
  headline: headlineOf(runs.at(-1)!, reference),
});
console.log(`wrote ${file}`);

function headlineOf([instances, run]: [number, Run], ref: Run): Headline {
  const pct = (r: Run) => ({ p50: p(r, 50), p95: p(r, 95), p99: p(r, 99) });
  return {
    subject: `durable orders through HAProxy to ${instances} instance${instances > 1 ? 's' : ''}`,
    reference: 'one instance without HAProxy (same run)',
    throughput: { unit: 'orders/s', value: perSecond(run), reference: perSecond(ref) },
    latencyMs: { value: pct(run), reference: pct(ref) },
  };
}
