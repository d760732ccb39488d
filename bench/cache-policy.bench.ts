/**
 * The L1's eviction per data class, LFU (TinyLFU admission) against LRU, each figure beside its reference
 * in the same run:
 * 1. hit rate and memory per class on the recorded trading-day trace (test/fixtures/cache-access-trace.tsv.gz)
 *    replayed through the real L1 store at equal memory (BENCH_L1_MIB, default 36 = an instance's default
 *    budget, and half and double it): every class LRU (the reference), the configured choice, every class LFU;
 * 2. what the choice costs a read: an L1 hit through TieredCache.get (the fast path, which records every
 *    read in the frequency sketch once some class is LFU) against the same cache with every class LRU,
 *    timed per batch of 1,000 gets (HDR percentiles of ns per get).
 * Writes bench/results/cache-policy.json.
 */
import os from 'node:os';
import pino from 'pino';
import { registerCacheFlags } from '../src/cache/flags.ts';
import { FeatureFlags } from '../src/config/flags.ts';
import { DATA_CLASSES, DEFAULT_POLICIES, type CachePolicies, type DataClass } from '../src/cache/policies.ts';
import { TieredCache } from '../src/cache/tiered-cache.ts';
import { createHistogram, type Histogram } from '../src/kernel/histogram.ts';
import { readTrace, replay, type ReplayResult } from '../test/support/cache-trace.ts';
import { printTable, writeResults } from './support/results.ts';

const MIB = 1_048_576;
const L1_MIB = Number(process.env.BENCH_L1_MIB ?? 36);
const GETS = Number(process.env.BENCH_OPS ?? 2_000_000);
const BATCH = 1_000;

const loadBefore = os.loadavg()[0]!;
const trace = readTrace();
const chosen = DATA_CLASSES.filter((cls) => DEFAULT_POLICIES[cls].eviction === 'lfu');
const classes = DATA_CLASSES.filter((cls) => trace.some((a) => a.cls === cls));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const hitRates: Record<string, Record<string, ReplayResult>> = {};
for (const mib of [L1_MIB / 2, L1_MIB, L1_MIB * 2]) {
  const variants: Record<string, ReplayResult> = {
    'all LRU (reference)': replay(trace, mib * MIB, []),
    [`configured (LFU: ${chosen.join(', ') || 'none'})`]: replay(trace, mib * MIB, chosen),
    'all LFU': replay(trace, mib * MIB, classes),
  };
  hitRates[`${mib} MiB`] = variants;
  console.log(`\nL1 ${mib} MiB, ${trace.length} accesses (first 20% warm-up): hit rate / L1 MiB held per class`);
  printTable(
    Object.entries(variants).map(([name, r]) => ({
      policy: name,
      overall: pct(r.hitRate),
      ...Object.fromEntries(classes.map((cls) => [cls, `${pct(r.byClass[cls]!.hitRate)} / ${(r.byClass[cls]!.bytes / MIB).toFixed(1)}`])),
      'refused (LFU)': r.rejections,
    })),
  );
}

function options(policies: CachePolicies) {
  return {
    prefix: 'bench-policy',
    l1MaxBytes: L1_MIB * MIB,
    l1MaxEntries: 200_000,
    redis: undefined,
    compressAboveBytes: 4096,
    lockTtlMs: 2_000,
    writeBehindMs: 1_000,
    policies,
    flags: registerCacheFlags(new FeatureFlags()),
    logger: pino({ level: 'silent' }),
  };
}

/** ns per L1-hit get of 1,000 bar keys, per batch of BATCH gets. */
async function hitCost(policies: CachePolicies): Promise<Histogram> {
  const cache = await TieredCache.create(options(policies));
  const keys = Array.from({ length: 1_000 }, (_, i) => `S${i}|1m|latest|500`);
  for (const key of keys) await cache.set('historicalBars', key, { bars: [] });
  const histogram = createHistogram();
  for (let done = 0; done < GETS; done += BATCH) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) await cache.get('historicalBars', keys[(done + i) % keys.length]!, async () => ({ bars: [] }));
    histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint() - start) / BATCH)));
  }
  await cache.close();
  return histogram;
}

const allLru = Object.fromEntries(DATA_CLASSES.map((cls) => [cls, { ...DEFAULT_POLICIES[cls], eviction: 'lru' }])) as Record<DataClass, CachePolicies[DataClass]>;
// Alternated twice, so that neither gets the machine's quieter moment only.
const costs = { lru: [] as Histogram[], configured: [] as Histogram[] };
for (let round = 0; round < 2; round++) {
  costs.lru.push(await hitCost(allLru));
  costs.configured.push(await hitCost(DEFAULT_POLICIES));
}
const merged = (hs: Histogram[]) => {
  const h = createHistogram();
  for (const x of hs) h.add(x);
  return h;
};
const p = (h: Histogram) => ({ p50: h.getValueAtPercentile(50), p90: h.getValueAtPercentile(90), p99: h.getValueAtPercentile(99), max: h.maxValue });
const lruCost = p(merged(costs.lru));
const configuredCost = p(merged(costs.configured));
console.log(`\nL1 hit through TieredCache.get, ns per get (${GETS} gets per variant and round, 2 rounds):`);
printTable([
  { variant: 'all LRU (reference)', ...lruCost },
  { variant: 'configured (reads recorded in the sketch)', ...configuredCost },
]);
console.log(`configured / reference p50: ${(configuredCost.p50 / lruCost.p50).toFixed(2)}×`);
const loadAfter = os.loadavg()[0]!;
console.log(`load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}${loadBefore > 2 ? ' (a loaded machine: smoke, not a figure)' : ''}`);

const summary = Object.fromEntries(
  Object.entries(hitRates).map(([budget, variants]) => [
    budget,
    Object.fromEntries(
      Object.entries(variants).map(([name, r]) => [
        name,
        { hitRate: r.hitRate, rejections: r.rejections, byClass: Object.fromEntries(Object.entries(r.byClass).map(([cls, c]) => [cls, { hitRate: c.hitRate, bytes: c.bytes, entries: c.entries }])) },
      ]),
    ),
  ]),
);
console.log(
  `written ${writeResults('cache-policy', {
    loadAverage: { before: loadBefore, after: loadAfter },
    trace: { accesses: trace.length, warmupFraction: 0.2 },
    lfuClasses: chosen,
    hitRates: summary,
    hitCostNs: { reference: lruCost, configured: configuredCost, ratioP50: configuredCost.p50 / lruCost.p50 },
  })}`,
);
