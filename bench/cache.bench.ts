/**
 * The tiered cache, each figure beside its reference measured in the same run:
 * 1. L1 get (synchronous fast path and async get) and set, beside a plain Map;
 * 2. L2 reads through BentoCache (Redis, MessagePack decode, L1 backfill) and raw writes, beside
 *    raw ioredis GET/SET pipelined 100 deep;
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
import { Redis } from 'ioredis';
import pino from 'pino';
import { FeatureFlags } from '../src/config/flags.ts';
import { registerCacheFlags } from '../src/cache/flags.ts';
import { tags } from '../src/cache/invalidation.ts';
import { DEFAULT_POLICIES, type DataClass } from '../src/cache/policies.ts';
import { TieredCache } from '../src/cache/tiered-cache.ts';
import { AccountState } from '../src/trading/account.ts';
import { valuePortfolio } from '../src/trading/portfolio.ts';
import { REDIS_TEST_URL } from '../test/support/servers.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const OPS = Number(process.env.BENCH_OPS ?? 2_000_000);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEYS = 10_000;

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

async function l2(): Promise<Record<string, number> | undefined> {
  const raw = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await raw.connect();
  } catch {
    console.warn(`!!! Redis not reachable at ${REDIS_TEST_URL}: L2 figures skipped`);
    raw.disconnect();
    return undefined;
  }
  const prefix = `tachyon:bench:${process.pid}:${Date.now()}`;
  const writer = await TieredCache.create(cacheOptions(REDIS_TEST_URL, prefix));
  const reader = await TieredCache.create(cacheOptions(REDIS_TEST_URL, prefix));
  const n = 20_000;
  const batch = 100;
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) await Promise.all(keys.slice(i, i + batch).map((k, j) => writer.set('historicalBars', k, value(i + j))));
  const cacheSet = opsPerSecond(n, start);
  const loader = async () => null;
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    reader.l1.lru.clear(); // every read below is an L2 read
    await Promise.all(keys.slice(i, i + batch).map((k) => reader.get('historicalBars', k, loader)));
  }
  const cacheGet = opsPerSecond(n, start);
  if (reader.stats.byClass.historicalBars.hitsL2 < n * 0.99) throw new Error(`expected L2 hits, got ${JSON.stringify(reader.stats.byClass.historicalBars)}`);
  const payload = JSON.stringify(value(1));
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const p = raw.pipeline();
    for (let j = i; j < i + batch; j++) p.set(`${prefix}:raw:${j}`, payload, 'PX', 60_000);
    await p.exec();
  }
  const rawSet = opsPerSecond(n, start);
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const p = raw.pipeline();
    for (let j = i; j < i + batch; j++) p.get(`${prefix}:raw:${j}`);
    await p.exec();
  }
  const rawGet = opsPerSecond(n, start);
  for (let cursor = '0'; ; ) {
    const [next, found] = await raw.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (found.length) await raw.unlink(...found);
    cursor = next;
    if (cursor === '0') break;
  }
  await Promise.all([writer.close(), reader.close()]);
  raw.disconnect();
  return { l2Get: cacheGet, rawGetPipelined: rawGet, l2Set: cacheSet, rawSetPipelined: rawSet };
}

/** Zipf(s) sampler over n ranks by inverse CDF on a precomputed table. */
function zipf(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  return () => {
    const u = Math.random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
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

async function http(): Promise<Record<string, unknown>> {
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
    const bare = await startReference('bench/support/bare-server.ts');
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

const l1Figures = await l1();
printTable([
  { 'L1 operation': 'get, synchronous fast path', 'plain Map ops/s': l1Figures.mapGet!, 'cache ops/s': l1Figures.l1Peek!, 'cache / Map': round(l1Figures.l1Peek! / l1Figures.mapGet!) },
  { 'L1 operation': 'get, async (what routes call)', 'plain Map ops/s': l1Figures.mapGet!, 'cache ops/s': l1Figures.l1Get!, 'cache / Map': round(l1Figures.l1Get! / l1Figures.mapGet!) },
  { 'L1 operation': 'set (BentoCache write path)', 'plain Map ops/s': l1Figures.mapSet!, 'cache ops/s': l1Figures.l1Set!, 'cache / Map': round(l1Figures.l1Set! / l1Figures.mapSet!) },
]);
const l2Figures = await l2();
if (l2Figures) {
  printTable([
    { operation: 'get', 'raw ioredis pipelined ops/s': l2Figures.rawGetPipelined!, 'L2 via cache ops/s': l2Figures.l2Get!, ratio: round(l2Figures.l2Get! / l2Figures.rawGetPipelined!) },
    { operation: 'set', 'raw ioredis pipelined ops/s': l2Figures.rawSetPipelined!, 'L2 via cache ops/s': l2Figures.l2Set!, ratio: round(l2Figures.l2Set! / l2Figures.rawSetPipelined!) },
  ]);
}
const mix = await hitRate();
console.log(`hit rate under the read mix: ${(mix.overall! * 100).toFixed(2)}% (target ≥ 95%)`, mix);
const portfolioFigures = await portfolio();
printTable(
  [10, 100].map((p) => ({
    'portfolio answer': `${p} positions`,
    'compute + serialize ops/s': portfolioFigures[`compute${p}`]!,
    'cache hit ops/s': portfolioFigures[`cacheHit${p}`]!,
    'µs saved per request': round(1e6 / portfolioFigures[`compute${p}`]! - 1e6 / portfolioFigures[`cacheHit${p}`]!),
  })),
);
const httpFigures = await http();
console.log(JSON.stringify(httpFigures, null, 2));
console.log('(generator, platform and reference servers share the machine’s 2 cores)');
console.log(`written ${writeResults('cache', { l1: l1Figures, l2: l2Figures ?? 'skipped: no Redis', hitRate: mix, portfolio: portfolioFigures, http: httpFigures })}`);
