/**
 * Access traces of the L1 cache and their replay through the real L1 store, for choosing each data
 * class's eviction policy by numbers (test/cache/eviction-policy.test.ts, bench:cache-policy).
 *
 * The recorded trace (test/fixtures/cache-access-trace.tsv.gz, made by `recordTrace` with a fixed
 * seed: `node bin/run-ts.js test/support/cache-trace.ts`) is a trading day's read mix as bench:cache
 * models it — bars of Zipf-popular symbols over 4 intervals, instrument pages, portfolios of
 * Zipf-active accounts dropped by fills, strategy results, forecasts — plus what a day adds to it:
 * screener and backtest sweeps that read one closed range of each of a few hundred symbols once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/analysis/series.ts';
import { L1Store, type L1Item } from '../../src/cache/l1-store.ts';
import { DATA_CLASSES, type DataClass } from '../../src/cache/policies.ts';

export const TRACE_FILE = fileURLToPath(new URL('../fixtures/cache-access-trace.tsv.gz', import.meta.url));

/** The L1 budget of an instance with the default memory limit (1/16 of 576 MiB, src/config/config.ts). */
export const L1_DEFAULT_BYTES = 36 * 1_048_576;

/** A read of a key, or its invalidation (a fill dropping a portfolio). */
export interface Access {
  op: 'read' | 'drop';
  cls: DataClass;
  key: string;
}

/** Decoded bytes of a typical entry per class (estimateBytes of the routes' answers, rounded). */
export const ENTRY_BYTES: Record<DataClass, number> = {
  historicalBars: 24_000,
  instruments: 6_000,
  portfolio: 1_500,
  strategyPerformance: 3_000,
  predictions: 2_000,
  marketSnapshot: 4_000,
};

/** Zipf(s) sampler over n ranks by inverse CDF on a precomputed table. */
export function zipf(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  return () => {
    const u = random() * sum;
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

const INTERVALS = ['1m', '5m', '1h', '1d'];

/** A trading day's reads: `reads` of them, a sweep of `sweepSymbols` symbols every `sweepEvery` reads. */
export function recordTrace(seed = 22, reads = 150_000, sweepEvery = 15_000, sweepSymbols = 400): Access[] {
  const random = mulberry32(seed);
  const symbol = zipf(2_000, 1.1, random);
  const account = zipf(1_000, 1.0, random);
  const strategy = zipf(5, 1.0, random);
  const page = zipf(40, 1.2, random);
  const trace: Access[] = [];
  for (let i = 0; i < reads; i++) {
    if (i > 0 && i % sweepEvery === 0) {
      // A sweep: one closed daily range per symbol, a different day each time (read once, never again).
      const day = i / sweepEvery;
      for (let s = 0; s < sweepSymbols; s++) trace.push({ op: 'read', cls: 'historicalBars', key: `S${s}|1d|day${day}|250` });
    }
    const r = random();
    if (r < 0.45) trace.push({ op: 'read', cls: 'historicalBars', key: `S${symbol()}|${INTERVALS[i % 4]}|latest|500` });
    else if (r < 0.6) trace.push({ op: 'read', cls: 'instruments', key: `page${page()}` });
    else if (r < 0.8) {
      trace.push({ op: 'read', cls: 'portfolio', key: `acct:${account()}:summary` });
      if (i % 50 === 0) trace.push({ op: 'drop', cls: 'portfolio', key: `acct:${account()}:summary` });
    } else if (r < 0.9) trace.push({ op: 'read', cls: 'strategyPerformance', key: `acct:${account()}:s${strategy()}` });
    else trace.push({ op: 'read', cls: 'predictions', key: `S${symbol()}|1m|next` });
  }
  return trace;
}

export function writeTrace(file: string, trace: readonly Access[]): void {
  writeFileSync(file, gzipSync(trace.map((a) => `${a.op === 'read' ? 'r' : 'd'}\t${a.cls}\t${a.key}`).join('\n') + '\n'));
}

export function readTrace(file = TRACE_FILE): Access[] {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  const trace: Access[] = [];
  for (const line of lines) {
    if (!line) continue;
    const [op, cls, key] = line.split('\t') as [string, DataClass, string];
    if (!DATA_CLASSES.includes(cls)) throw new Error(`unknown class in trace: ${line}`);
    trace.push({ op: op === 'd' ? 'drop' : 'read', cls, key });
  }
  return trace;
}

export interface ClassFigures {
  reads: number;
  hits: number;
  hitRate: number;
  /** L1 bytes and entries the class holds at the end of the replay. */
  bytes: number;
  entries: number;
}

export interface ReplayResult {
  hitRate: number;
  byClass: Partial<Record<DataClass, ClassFigures>>;
  rejections: number;
}

/**
 * Replays `trace` through an L1Store of `maxBytes` (the first `warmup` fraction fills it and is not
 * counted), with the classes in `lfu` under TinyLFU admission: the same code path as TieredCache.get
 * (record the read, look up, store on a miss). No clock and no randomness: the same trace gives the same figures.
 */
export function replay(trace: readonly Access[], maxBytes: number, lfu: readonly DataClass[], warmup = 0.2): ReplayResult {
  const prefixes = lfu.map((cls) => `${cls}:`);
  const expected = Math.floor(maxBytes / 4_000);
  const store = new L1Store(maxBytes, 1_000_000, () => undefined, lfu.length > 0 ? (key) => prefixes.some((p) => key.startsWith(p)) : undefined, expected);
  const values = Object.fromEntries(DATA_CLASSES.map((cls) => [cls, { body: 'x'.repeat(ENTRY_BYTES[cls] - 40) }]));
  const counted = Object.fromEntries(DATA_CLASSES.map((cls) => [cls, { reads: 0, hits: 0 }])) as Record<DataClass, { reads: number; hits: number }>;
  const start = Math.floor(trace.length * warmup);
  for (let i = 0; i < trace.length; i++) {
    const { op, cls, key } = trace[i]!;
    const full = `${cls}:${key}`;
    if (op === 'drop') {
      store.lru.delete(full);
      continue;
    }
    store.record(full);
    const hit = store.lru.get(full) !== undefined;
    if (i >= start) {
      counted[cls].reads++;
      if (hit) counted[cls].hits++;
    }
    if (!hit) store.set(full, { value: values[cls], logicalExpiration: undefined, createdAt: 0 } satisfies L1Item);
  }
  const byClass: ReplayResult['byClass'] = {};
  let reads = 0;
  let hits = 0;
  for (const cls of DATA_CLASSES) {
    const c = counted[cls];
    if (c.reads === 0) continue;
    byClass[cls] = { ...c, hitRate: c.hits / c.reads, bytes: 0, entries: 0 };
    reads += c.reads;
    hits += c.hits;
  }
  for (const key of store.lru.keys()) {
    const slot = byClass[key.slice(0, key.indexOf(':')) as DataClass];
    if (!slot) continue;
    slot.entries++;
    slot.bytes += store.lru.info(key)?.size ?? 0;
  }
  return { hitRate: hits / reads, byClass, rejections: store.rejections };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const trace = recordTrace();
  writeTrace(TRACE_FILE, trace);
  console.log(`wrote ${trace.length} accesses to ${TRACE_FILE}`);
}
