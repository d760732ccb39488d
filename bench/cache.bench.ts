/**
 * The tiered cache, each figure beside its reference measured in the same run:
 * 1. L1 get (synchronous fast path and async get) and set, beside a plain Map;
 * 2. L2 reads and writes through the cache (one MGET / one SET_MANY script call per turn, MessagePack,
 *    L1 backfill, bus notices), beside raw ioredis GET/SET pipelined 100 deep, on one Redis and
 *    (BENCH_CLUSTER=1) on a real six-node cluster beside auto-pipelined cluster commands; ops/s and
 *    this process's CPU per operation;
 * 3. the hit rate under a realistic read mix (Zipf popularity, fills invalidating portfolios);
 * 4. whether caching the portfolio pays: valuing an in-memory account and serializing it, beside
 *    a cache hit for the same answer;
 * 5. GET throughput of cached routes, cache on and off, beside a bare node:http server and a bare
 *    Fastify route (platform and references in child processes, autocannon here): a small
 *    instruments answer (the size of the references' body; its source is in memory), a large one
 *    asked for with brotli (stored compressed variant vs compressing per request), and a
 *    historical-bars range (PGlite aggregation of seeded 1-minute bars: what the cache is for).
 * The machine's 2 cores are shared by the generator, the servers and other engineers' work.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import os from 'node:os';
import { Cluster, type ChainableCommander } from 'ioredis';
import pino from 'pino';
import { FeatureFlags } from '../src/config/flags.ts';
import { registerCacheFlags } from '../src/cache/flags.ts';
import { tags } from '../src/cache/invalidation.ts';
import { DEFAULT_POLICIES, type DataClass } from '../src/cache/policies.ts';
import { TieredCache } from '../src/cache/tiered-cache.ts';
import { createHistogram, recordMs, US_PER_MS, type Histogram } from '../src/kernel/histogram.ts';
import { createRedisClient, primaries, type RedisClient } from '../src/kernel/redis-client.ts';
import { AccountState } from '../src/trading/account.ts';
import { valuePortfolio } from '../src/trading/portfolio.ts';
import { RedisCluster } from '../test/support/redis-cluster.ts';
import { zipf } from '../test/support/cache-trace.ts';
import { REDIS_TEST_URL } from '../test/support/servers.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const OPS = Number(process.env.BENCH_OPS ?? 2_000_000);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEYS = 10_000;
/** `BENCH_CACHE_PARTS=l2` (comma-separated: l1, l2, mix, portfolio, http) runs only those parts; all by default. */
const PARTS = new Set((process.env.BENCH_CACHE_PARTS ?? 'l1,l2,mix,portfolio,http').split(','));
/** First port of the six-node cluster of `BENCH_CLUSTER=1` (six consecutive ports, bus ports 100 above). */
const CLUSTER_PORT = Number(process.env.BENCH_CLUSTER_PORT ?? 18401);

function cacheOptions(redisUrl: string | undefined, prefix: string) {
  return {
    prefix,
    l1MaxBytes: 64 * 1_048_576,
    l1MaxEntries: 200_000,
    redis: redisUrl ? { url: redisUrl, timeoutMs: 1_000, breakMs: 1_000 } : undefined,
    compressAboveBytes: 4096,
    lockTtlMs: 2_000,
    writeBehindMs: 1_000,
    policies: DEFAULT_POLICIES,
    flags: registerCacheFlags(new FeatureFlags()),
    logger: pino({ level: 'silent' }),
  };
}

function opsPerSecond(ops: number, startNs: bigint): number {
  return Math.round(ops / (Number(process.hrtime.bigint() - startNs) / 1e9));
}

const value = (i: number) => ({ symbol: `S${i}`, bid: 100 + i, ask: 100.01 + i, volume: i * 10 });

async function l1(): Promise<Record<string, number>> {
  const cache = await TieredCache.create(cacheOptions(undefined, 'bench-l1'));
  const map = new Map<string, unknown>();
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  for (let i = 0; i < KEYS; i++) {
    await cache.set('instruments', keys[i]!, value(i));
    map.set(keys[i]!, value(i));
  }
  for (const k of keys) await cache.get('instruments', k, async () => 0); // first read records tag state
  let sink = 0;
  let start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) if (map.get(keys[i % KEYS]!)) sink++;
  const mapGet = opsPerSecond(OPS, start);
  start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) map.set(keys[i % KEYS]!, value(i));
  const mapSet = opsPerSecond(OPS, start);
  start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) if (cache.peek('instruments', keys[i % KEYS]!)) sink++;
  const peek = opsPerSecond(OPS, start);
  const loader = async () => 0;
  start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) if (await cache.get('instruments', keys[i % KEYS]!, loader)) sink++;
  const get = opsPerSecond(OPS, start);
  const sets = OPS / 20;
  start = process.hrtime.bigint();
  for (let i = 0; i < sets; i++) await cache.set('instruments', keys[i % KEYS]!, value(i));
  const set = opsPerSecond(sets, start);
  await cache.close();
  if (sink === 0) throw new Error('nothing read');
  return { mapGet, mapSet, l1Peek: peek, l1Get: get, l1Set: set };
}

const L2_ROUNDS = Number(process.env.BENCH_L2_ROUNDS ?? 3);
/** Unrecorded rounds first: the cache's longer code path otherwise runs its first 20,000 calls cold (JIT) in round 1. */
const L2_WARMUP = Number(process.env.BENCH_L2_WARMUP ?? 1);
const L2_BATCH = 100;

/** One side of one L2 comparison: ops/s and this process's CPU µs per operation of each recorded run, batch latencies. */
interface Side {
  opsPerSecond: number[];
  cpuUsPerOp: number[];
  latency: Histogram;
}

const side = (): Side => ({ opsPerSecond: [], cpuUsPerOp: [], latency: createHistogram() });

/**
 * Runs `n` operations in batches of 100, each batch timed into the side's histogram. CPU per
 * operation (this process: the cache or ioredis, not Redis) is the figure least moved by other
 * processes on the shared cores; ops/s is what the target is set in.
 */
async function timedBatches(n: number, into: Side, batch: (from: number) => Promise<unknown>): Promise<void> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += L2_BATCH) {
    const t = process.hrtime.bigint();
    await batch(i);
    recordMs(into.latency, Number(process.hrtime.bigint() - t) / 1e6);
  }
  into.opsPerSecond.push(opsPerSecond(n, start));
  const used = process.cpuUsage(cpu);
  into.cpuUsPerOp.push(round((used.user + used.system) / n));
}

const percentiles = (h: Histogram) => ({ p50Ms: h.getValueAtPercentile(50) / US_PER_MS, p99Ms: h.getValueAtPercentile(99) / US_PER_MS });
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/**
 * L2 gets and sets through the cache (two instances: a writer, and a reader whose L1 entries are
 * dropped before each batch, tag marks kept as in steady state) against raw ioredis on the same
 * server: 100-deep pipelines on a single node, auto-pipelined commands (grouped per node) on a
 * cluster. After `L2_WARMUP` unrecorded rounds, cache and raw runs alternate for `L2_ROUNDS` rounds and each figure is the median, so
 * a load swing on the shared machine hits both sides alike. Batch latencies go to HDR histograms.
 */
async function l2(url: string): Promise<Record<string, unknown> | undefined> {
  const raw = createRedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableAutoPipelining: true });
  try {
    await raw.connect();
  } catch {
    console.warn(`!!! Redis not reachable at ${url}: L2 figures skipped`);
    raw.disconnect();
    return undefined;
  }
  const prefix = `tachyon:bench:${process.pid}:${Date.now()}`;
  const writer = await TieredCache.create(cacheOptions(url, prefix));
  const reader = await TieredCache.create(cacheOptions(url, prefix));
  const n = 20_000;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  const payload = Buffer.from(JSON.stringify(value(1)));
  const cluster = raw instanceof Cluster;
  const rawBatch = async (from: number, command: (p: ChainableCommander | RedisClient, j: number) => unknown) => {
    if (cluster) return Promise.all(Array.from({ length: L2_BATCH }, (_, k) => command(raw, from + k)));
    const p = raw.pipeline();
    for (let j = from; j < from + L2_BATCH; j++) command(p, j);
    return p.exec();
  };
  const loader = async () => null;
  const sides = () => ({ cacheGet: side(), cacheSet: side(), rawGet: side(), rawSet: side() });
  const recorded = sides();
  const warmup = sides();
  for (let round = -L2_WARMUP; round < L2_ROUNDS; round++) {
    const s = round < 0 ? warmup : recorded;
    await timedBatches(n, s.cacheSet, (i) => Promise.all(keys.slice(i, i + L2_BATCH).map((k, j) => writer.set('historicalBars', k, value(i + j)))));
    await timedBatches(n, s.rawSet, (i) => rawBatch(i, (p, j) => p.set(`${prefix}:raw:${j}`, payload, 'PX', 60_000)));
    await timedBatches(n, s.cacheGet, (i) => {
      const slice = keys.slice(i, i + L2_BATCH);
      // Every read is an L2 read: the entries leave L1, the tag marks stay (as in steady state).
      for (const k of slice) reader.l1.lru.delete(`${prefix}:historicalBars:${k}`);
      return Promise.all(slice.map((k) => reader.get('historicalBars', k, loader)));
    });
    await timedBatches(n, s.rawGet, (i) => rawBatch(i, (p, j) => p.getBuffer(`${prefix}:raw:${j}`)));
  }
  // A write that timed out under load is a lost L2 copy (by design): its read is a miss, counted here.
  const { hitsL2, misses } = reader.stats.byClass.historicalBars;
  if (hitsL2 < n * L2_ROUNDS * 0.9) throw new Error(`expected L2 hits, got ${JSON.stringify(reader.stats.byClass.historicalBars)}`);
  for (const node of primaries(raw)) {
    for (let cursor = '0'; ; ) {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      for (const key of found) await raw.unlink(key);
      cursor = next;
      if (cursor === '0') break;
    }
  }
  await Promise.all([writer.close(), reader.close()]);
  raw.disconnect();
  const { cacheGet, cacheSet, rawGet, rawSet } = recorded;
  const get = { cache: median(cacheGet.opsPerSecond), raw: median(rawGet.opsPerSecond), cacheCpu: median(cacheGet.cpuUsPerOp), rawCpu: median(rawGet.cpuUsPerOp) };
  const set = { cache: median(cacheSet.opsPerSecond), raw: median(rawSet.opsPerSecond), cacheCpu: median(cacheSet.cpuUsPerOp), rawCpu: median(rawSet.cpuUsPerOp) };
  return {
    target: 'L2 via cache >= 0.5x raw pipelined, gets and sets',
    rounds: L2_ROUNDS,
    warmupRounds: L2_WARMUP,
    readsThatMissedL2: misses,
    l2Get: get.cache,
    rawGetPipelined: get.raw,
    getRatio: round(get.cache / get.raw),
    l2Set: set.cache,
    rawSetPipelined: set.raw,
    setRatio: round(set.cache / set.raw),
    cpuUsPerOp: { l2Get: get.cacheCpu, rawGet: get.rawCpu, getRatio: round(get.rawCpu / get.cacheCpu), l2Set: set.cacheCpu, rawSet: set.rawCpu, setRatio: round(set.rawCpu / set.cacheCpu) },
    runs: Object.fromEntries(Object.entries(recorded).map(([k, v]) => [k, { opsPerSecond: v.opsPerSecond, cpuUsPerOp: v.cpuUsPerOp }])),
    batchLatency: Object.fromEntries(Object.entries(recorded).map(([k, v]) => [k, percentiles(v.latency)])),
  };
}

function printL2(label: string, f: Record<string, unknown>): void {
  const n = f as Record<string, number>;
  const cpu = f.cpuUsPerOp as Record<string, number>;
  printTable([
    { [label]: 'get', 'raw pipelined ops/s': n.rawGetPipelined!, 'L2 via cache ops/s': n.l2Get!, ratio: n.getRatio!, target: '>= 0.5', 'CPU µs/op raw / cache': `${cpu.rawGet} / ${cpu.l2Get}`, 'CPU ratio (raw / cache)': cpu.getRatio! },
    { [label]: 'set', 'raw pipelined ops/s': n.rawSetPipelined!, 'L2 via cache ops/s': n.l2Set!, ratio: n.setRatio!, target: '>= 0.5', 'CPU µs/op raw / cache': `${cpu.rawSet} / ${cpu.l2Set}`, 'CPU ratio (raw / cache)': cpu.setRatio! },
  ]);
  console.log('batch latency (100 ops), ms:', JSON.stringify(f.batchLatency));
}

/**
 * The read mix of a trading front end, in steady state (stats reset after a warm-up pass): bars
 * of Zipf-popular symbols over 4 intervals (half the reads), instrument pages, portfolios of
 * Zipf-active accounts with a fill invalidating one account every 50 reads, and each account's
 * handful (5) of strategies' results.
 */
async function hitRate(): Promise<Record<string, number>> {
  const cache = await TieredCache.create(cacheOptions(undefined, 'bench-mix'));
  const symbol = zipf(2_000, 1.1);
  const account = zipf(1_000, 1.0);
  const strategy = zipf(5, 1.0);
  const page = zipf(40, 1.2);
  const warmup = 100_000;
  const reads = 300_000;
  const load = async () => ({ loaded: true });
  const intervals = ['1m', '5m', '1h', '1d'];
  for (let i = 0; i < warmup + reads; i++) {
    if (i === warmup) cache.stats.reset();
    const r = Math.random();
    let cls: DataClass;
    let key: string;
    let tagList: string[] = [];
    if (r < 0.5) [cls, key] = ['historicalBars', `S${symbol()}|${intervals[i % 4]}|latest|500`];
    else if (r < 0.7) [cls, key] = ['instruments', `page${page()}`];
    else if (r < 0.9) {
      const a = account();
      [cls, key, tagList] = ['portfolio', `acct:${a}:summary`, [tags.account(a)]];
      if (i % 50 === 0) await cache.invalidateTag(tags.account(account()), ['portfolio']);
    } else [cls, key] = ['strategyPerformance', `acct:${account()}:s${strategy()}`];
    await cache.get(cls, key, load, tagList);
  }
  const result: Record<string, number> = { warmup, reads, overall: round(cache.stats.hitRate()) };
  for (const cls of ['historicalBars', 'instruments', 'portfolio', 'strategyPerformance'] as const) result[cls] = round(cache.stats.hitRate(cls));
  await cache.close();
  return result;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/**
 * The portfolio route values the account's in-memory positions at live prices and serializes the
 * answer; a cache hit would replace that with a lookup. Measured for typical and large accounts.
 */
async function portfolio(): Promise<Record<string, number>> {
  const cache = await TieredCache.create(cacheOptions(undefined, 'bench-portfolio'));
  const figures: Record<string, number> = {};
  const n = OPS / 20;
  for (const positions of [10, 100]) {
    const account = new AccountState(1, 10_000_000_000, 5_000_000_000, false, { maxOrdersPerSecond: 10 } as ConstructorParameters<typeof AccountState>[4], false, Date.now());
    for (let i = 0; i < positions; i++) Object.assign(account.holding(i), { quantity: 10 + i, costBasis: (10 + i) * 1_000_000 });
    const prices = Array.from({ length: positions }, (_, i) => 1_000_000 + i * 100);
    const compute = () => JSON.stringify(valuePortfolio(account, (id) => prices[id]!));
    let sink = 0;
    let start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += compute().length;
    figures[`compute${positions}`] = opsPerSecond(n, start);
    const key = `acct:1:portfolio:${positions}`;
    const loader = async () => compute();
    await cache.get('portfolio', key, loader, [tags.account(1)]);
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += (await cache.get('portfolio', key, loader, [tags.account(1)])).value.length;
    figures[`cacheHit${positions}`] = opsPerSecond(n, start);
    if (sink === 0) throw new Error('nothing computed');
  }
  await cache.close();
  return figures;
}

interface HttpRun {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function http(): Promise<Record<string, unknown> & { bars15mClosedRange: { cacheOn: HttpRun; cacheOff: HttpRun } & Record<string, number | HttpRun> }> {
  const headers = { authorization: `Bearer ${BENCH_DEMO_TOKEN}` };
  const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const servers: Server[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-cache-bench-'));
  const env = { TACHYON_DATA_DIR: dataDir, TACHYON_INSTRUMENTS: '50', TACHYON_TICK_RATE: '0', TACHYON_RATE_LIMIT: '0' };
  try {
    const seeded = spawnSync(process.execPath, ['bin/tachyon.js', 'seed', '--days', '3'], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    if (seeded.status !== 0) throw new Error(`tachyon seed exited with ${seeded.status}`);
    const platform = await startPlatform(env);
    servers.push(platform);
    const bare = await startReference('bench/support/bare-server.mjs');
    servers.push(bare);
    const bareFastify = await startReference('bench/support/bare-fastify.ts');
    servers.push(bareFastify);
    const setCache = (enabled: boolean) =>
      fetch(`${platform.url}/api/admin/flags/cache.enabled`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled }) }).then((r) => {
        if (!r.ok) throw new Error(`flag switch answered ${r.status}`);
      });
    const run = async (name: string, url: string, h: Record<string, string>) => {
      process.stderr.write(`${name}: warm-up 2s, then ${DURATION_S}s at ${CONNECTIONS} connections…\n`);
      await autocannon({ url, connections: CONNECTIONS, duration: 2, headers: h });
      const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers: h });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      return { requestsPerSecond: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
    };
    const small = `${platform.url}/api/instruments?limit=1`;
    const first = (await (await fetch(small, { headers })).json()) as { items: { symbol: string }[] };
    const closedTo = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const bars = `${platform.url}/api/market-data/bars/${first.items[0]!.symbol}?interval=15m&limit=100&to=${closedTo}`;
    const large = `${platform.url}/api/instruments?limit=50`;
    const brotli = { ...headers, 'accept-encoding': 'br' };
    const reference = await run('bare node:http', bare.url, {});
    const fastifyReference = await run('bare Fastify route', bareFastify.url, {});
    const smallOn = await run('instruments (small body), cache on', small, headers);
    const largeOn = await run('instruments (50 items, brotli), cache on', large, brotli);
    const barsOn = await run('15m bars from 1m (PGlite), cache on', bars, headers);
    await setCache(false);
    const smallOff = await run('instruments (small body), cache off', small, headers);
    const largeOff = await run('instruments (50 items, brotli), cache off', large, brotli);
    const barsOff = await run('15m bars from 1m (PGlite), cache off', bars, headers);
    await setCache(true);
    return {
      reference,
      fastifyReference,
      fastifyVsBare: round(fastifyReference.requestsPerSecond / reference.requestsPerSecond),
      instrumentsSmallBody: {
        cacheOn: smallOn,
        cacheOff: smallOff,
        onVsBare: round(smallOn.requestsPerSecond / reference.requestsPerSecond),
        onVsFastify: round(smallOn.requestsPerSecond / fastifyReference.requestsPerSecond),
        offVsFastify: round(smallOff.requestsPerSecond / fastifyReference.requestsPerSecond),
      },
      instrumentsBrotli: { cacheOn: largeOn, cacheOff: largeOff, onVsOff: round(largeOn.requestsPerSecond / largeOff.requestsPerSecond) },
      bars15mClosedRange: { cacheOn: barsOn, cacheOff: barsOff, onVsOff: round(barsOn.requestsPerSecond / barsOff.requestsPerSecond), onVsBare: round(barsOn.requestsPerSecond / reference.requestsPerSecond) },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const figures: Record<string, unknown> = {};
if (PARTS.has('l1')) {
  const l1Figures = (figures.l1 = await l1());
  printTable([
    { 'L1 operation': 'get, synchronous fast path', 'plain Map ops/s': l1Figures.mapGet!, 'cache ops/s': l1Figures.l1Peek!, 'cache / Map': round(l1Figures.l1Peek! / l1Figures.mapGet!) },
    { 'L1 operation': 'get, async (what routes call)', 'plain Map ops/s': l1Figures.mapGet!, 'cache ops/s': l1Figures.l1Get!, 'cache / Map': round(l1Figures.l1Get! / l1Figures.mapGet!) },
    { 'L1 operation': 'set (BentoCache write path)', 'plain Map ops/s': l1Figures.mapSet!, 'cache ops/s': l1Figures.l1Set!, 'cache / Map': round(l1Figures.l1Set! / l1Figures.mapSet!) },
  ]);
}
if (PARTS.has('l2')) {
  console.log(`load average before the L2 runs: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const l2Figures = await l2(REDIS_TEST_URL);
  if (l2Figures) printL2('L2 on one Redis', l2Figures);
  figures.l2 = l2Figures ?? 'skipped: no Redis';
  // The cluster run (six nodes started here) only when asked: it takes a minute.
  figures.l2Cluster = 'not run (BENCH_CLUSTER=1)';
  if (process.env.BENCH_CLUSTER === '1') {
    const cluster = await RedisCluster.start(CLUSTER_PORT);
    try {
      const clusterFigures = await l2(cluster.url);
      if (clusterFigures) printL2('L2 on a 6-node cluster', clusterFigures);
      figures.l2Cluster = clusterFigures;
    } finally {
      await cluster.stop();
    }
  }
}
if (PARTS.has('mix')) {
  const mix = (figures.hitRate = await hitRate());
  console.log(`hit rate under the read mix: ${(mix.overall! * 100).toFixed(2)}% (target ≥ 95%)`, mix);
}
if (PARTS.has('portfolio')) {
  const portfolioFigures = (figures.portfolio = await portfolio());
  printTable(
    [10, 100].map((p) => ({
      'portfolio answer': `${p} positions`,
      'compute + serialize ops/s': portfolioFigures[`compute${p}`]!,
      'cache hit ops/s': portfolioFigures[`cacheHit${p}`]!,
      'µs saved per request': round(1e6 / portfolioFigures[`compute${p}`]! - 1e6 / portfolioFigures[`cacheHit${p}`]!),
    })),
  );
}
if (PARTS.has('http')) {
  const httpFigures = (figures.http = await http());
  console.log(JSON.stringify(httpFigures, null, 2));
  console.log('(generator, platform and reference servers share the machine’s 2 cores)');
  const { cacheOn, cacheOff } = httpFigures.bars15mClosedRange;
  const headline: Headline = {
    subject: '15-minute bars of a closed range, cache on',
    reference: 'cache off, same platform and run',
    throughput: { unit: 'req/s', value: cacheOn.requestsPerSecond, reference: cacheOff.requestsPerSecond },
    latencyMs: { value: { p50: cacheOn.p50Ms, p99: cacheOn.p99Ms }, reference: { p50: cacheOff.p50Ms, p99: cacheOff.p99Ms } },
  };
  figures.headline = headline;
}
// A partial run writes its own file (cache-l2.json …), never over a full run's figures.
const name = process.env.BENCH_CACHE_PARTS === undefined ? 'cache' : `cache-${[...PARTS].join('-')}`;
console.log(`written ${writeResults(name, { loadAverage: os.loadavg(), ...figures })}`);
