/**
 * Backtest throughput (bars/s) against the practical limit: a plain fused typed-array loop doing the
 * same SMA-crossover signal, next-open fill and mark-to-market with no engine, run on the same data
 * in the same process. Workloads:
 *   A. 1 symbol × 1 year of 1-minute bars, exchange session: 252 × 390 = 98,280 bars;
 *   B. 2,000 symbols × 5 years of daily bars: 2,000 × 1,260 = 2,520,000 bars.
 * The engine runs inline (one thread) and through the worker pool (B fans out over all cores).
 *   C. GET /api/predictions/:symbol under load: an in-process platform (embedded database in memory,
 *      two days of seeded 1-minute bars for PREDICT_SYMBOLS symbols) listening on 127.0.0.1, driven by
 *      autocannon on its own thread with HDR percentiles, round-robin over the symbols; with the route
 *      cache on (the default) and off (every request reads 500 bars and fits the model), and
 *      GET /api/health on the same server in the same run as the reference.
 * Writes bench/results/backtest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { DEFAULT_BACKTEST_OPTIONS, type BacktestOptions } from '../src/analysis/backtest-options.ts';
import { runBacktest, runPortfolioBacktest } from '../src/analysis/backtest.ts';
import { randomWalkPanel, randomWalkSeries, type BarPanel } from '../src/analysis/series.ts';
import { validateParams } from '../src/analysis/strategies/catalogue.ts';
import { AnalysisPool } from '../src/analysis/worker-pool.ts';
import { loadConfig } from '../src/config/config.ts';
import { seedHistory } from '../src/market-data/history-seeder.ts';
import { buildPlatform } from '../src/platform.ts';
import type { Headline } from './support/results.ts';

const FAST = 10;
const SLOW = 30;
const spec = validateParams('sma_crossover', { fastPeriod: FAST, slowPeriod: SLOW });

/**
 * The reference: one fused loop per symbol, running sums for both SMAs, all-in fractional sizing,
 * no costs, no trade records. Returns the summed final equity so the work cannot be optimized away.
 */
function referenceLoop(open: Float64Array, close: Float64Array, symbols: number, bars: number, capital: number): number {
  let total = 0;
  for (let k = 0; k < symbols; k++) {
    const base = k * bars;
    let fastSum = 0;
    let slowSum = 0;
    let cash = capital;
    let qty = 0;
    let signal = 0;
    let equity = capital;
    for (let i = 0; i < bars; i++) {
      const j = base + i;
      if (i > 0 && signal !== (qty > 0 ? 1 : 0)) {
        const o = open[j]!;
        if (qty > 0) {
          cash += qty * o;
          qty = 0;
        } else {
          qty = cash / o;
          cash = 0;
        }
      }
      const c = close[j]!;
      fastSum += c;
      slowSum += c;
      if (i >= FAST) fastSum -= close[j - FAST]!;
      if (i >= SLOW) slowSum -= close[j - SLOW]!;
      signal = i >= SLOW - 1 && fastSum / FAST > slowSum / SLOW ? 1 : 0;
      equity = cash + qty * c;
    }
    total += equity;
  }
  return total;
}

interface Measured {
  barsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  runs: number;
}

async function measure(bars: number, runs: number, warmup: number, fn: () => unknown): Promise<Measured> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < warmup; i++) await fn();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
  }
  const p50Ms = histogram.getValueAtPercentile(50) / 1000;
  return { barsPerSecond: Math.round(bars / (p50Ms / 1000)), p50Ms, p99Ms: histogram.getValueAtPercentile(99) / 1000, runs };
}

function asPanel(series: ReturnType<typeof randomWalkSeries>): BarPanel {
  return { symbols: ['MIN1'], bars: series.length, ...series };
}

/** Same rules as the reference (fractional, all-in, frictionless): the engine must land on the same equity. */
function checkAgreement(panel: BarPanel): number {
  const frictionless: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, commissionBps: 0, slippageBps: 0, fractionalShares: true, initialCash: 100_000 * panel.symbols.length };
  const engine = runPortfolioBacktest(panel, spec, frictionless).equity.value.at(-1)!;
  const reference = referenceLoop(panel.open, panel.close, panel.symbols.length, panel.bars, 100_000);
  return Math.abs(engine / reference - 1);
}

const threads = availableParallelism();
const pool = new AnalysisPool({ threads, taskTimeoutMs: 600_000 });
const options: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, fractionalShares: true };
const line = (name: string, m: Measured, ref: Measured) =>
  console.log(`  ${name.padEnd(34)} ${m.barsPerSecond.toLocaleString('en-US').padStart(14)} bars/s  p50 ${m.p50Ms.toFixed(2).padStart(9)} ms  p99 ${m.p99Ms.toFixed(2).padStart(9)} ms  ${(m.barsPerSecond / ref.barsPerSecond).toFixed(3)}× reference`);

console.log(`backtest bench — Node ${process.version}, ${threads} threads available, strategy SMA crossover ${FAST}/${SLOW}\n`);

// A: one symbol, a year of 1-minute bars (exchange session: 252 days × 390 minutes).
const minuteBars = 252 * 390;
const minute = randomWalkSeries(minuteBars, 42, 60_000);
const minuteOptions: BacktestOptions = { ...options, interval: '1m' };
const minuteDeviation = checkAgreement(asPanel(minute));
const a = {
  reference: await measure(minuteBars, 50, 10, () => referenceLoop(minute.open, minute.close, 1, minuteBars, 100_000)),
  inline: await measure(minuteBars, 50, 10, () => runBacktest('MIN1', minute, spec, minuteOptions)),
  pool: await measure(minuteBars, 50, 10, () => pool.backtest('MIN1', minute, spec, minuteOptions)),
};
console.log(`A. 1 symbol × ${minuteBars.toLocaleString('en-US')} 1-minute bars (252 × 390, exchange session); engine vs reference equity deviation ${minuteDeviation.toExponential(1)}`);
line('reference (plain typed-array loop)', a.reference, a.reference);
line('engine inline (1 thread)', a.inline, a.reference);
line('engine via worker pool (1 task)', a.pool, a.reference);

// B: 2,000 symbols × 5 years of daily bars, on one shared calendar.
const symbols = 2000;
const days = 5 * 252;
const panel = randomWalkPanel(symbols, days, 7);
const dailyBars = symbols * days;
const dailyDeviation = checkAgreement(panel);
const b = {
  reference: await measure(dailyBars, 10, 2, () => referenceLoop(panel.open, panel.close, symbols, days, 100_000)),
  inline: await measure(dailyBars, 10, 2, () => runPortfolioBacktest(panel, spec, options)),
  pool: await measure(dailyBars, 10, 2, () => pool.portfolio(panel, spec, options)),
};
console.log(`\nB. ${symbols.toLocaleString('en-US')} symbols × ${days.toLocaleString('en-US')} daily bars = ${dailyBars.toLocaleString('en-US')} bars; engine vs reference equity deviation ${dailyDeviation.toExponential(1)}`);
line('reference (plain typed-array loop)', b.reference, b.reference);
line('engine inline (1 thread)', b.inline, b.reference);
line(`engine via worker pool (${threads} threads)`, b.pool, b.reference);

await pool.close();

// C: the predictions endpoint under load, with /api/health on the same server as the reference.
const PREDICT_SYMBOLS = 100;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const TOKEN = 'bench-demo-token-0123456789';

interface LoadFigures {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  status2xx: number;
  other: number;
}

function load(url: string, paths: string[], durationS: number): Promise<LoadFigures> {
  const worker = new Worker(new URL('./support/hdr-load-worker.mjs', import.meta.url), {
    workerData: { url, paths, headers: { authorization: `Bearer ${TOKEN}` }, connections: CONNECTIONS, durationS },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (figures: LoadFigures) => void worker.terminate().then(() => resolve(figures)));
    worker.once('error', reject);
  });
}

async function measureLoad(url: string, paths: string[]): Promise<LoadFigures> {
  await load(url, paths, 2); // warm-up: JIT, connections, first cache fills
  return load(url, paths, DURATION_S);
}

const config = loadConfig({ LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', TACHYON_TICK_RATE: '0', TACHYON_RATE_LIMIT: '0', TACHYON_DEMO_TOKEN: TOKEN });
const platform = await buildPlatform(config, { inMemory: true });
const seeded = platform.marketData.instruments.slice(0, PREDICT_SYMBOLS);
const seededRows = await seedHistory(platform.db, { instruments: seeded, marketClock: platform.marketData.marketClock, days: 2, endMs: Date.now(), seed: 42 });
const address = await platform.listen();
const predictPaths = seeded.map((i) => `/api/predictions/${i.symbol}?horizon=5`);
const probe = await fetch(`${address}${predictPaths[0]}`, { headers: { authorization: `Bearer ${TOKEN}` } });
if (probe.status !== 200) throw new Error(`predictions answered ${probe.status}: ${await probe.text()}`);
const predictModel = ((await probe.json()) as { model: string }).model;
const c = {
  reference: await measureLoad(address, ['/api/health']),
  cached: await measureLoad(address, predictPaths),
  uncached: await (async () => {
    platform.flags.set('cache.enabled', false);
    try {
      return await measureLoad(address, predictPaths);
    } finally {
      platform.flags.set('cache.enabled', true);
    }
  })(),
};
await platform.stop();
const loadLine = (name: string, f: LoadFigures) =>
  console.log(
    `  ${name.padEnd(44)} ${String(f.requestsPerSecond).padStart(7)} req/s  p50 ${f.p50Ms.toFixed(2).padStart(7)} ms  p95 ${f.p95Ms.toFixed(2).padStart(7)} ms  p99 ${f.p99Ms.toFixed(2).padStart(7)} ms  non-2xx ${f.other}  p95 ${(f.p95Ms / c.reference.p95Ms).toFixed(1)}× reference`,
  );
console.log(
  `\nC. GET /api/predictions/:symbol (${predictModel}, window 500 1-minute bars, horizon 5) round-robin over ${PREDICT_SYMBOLS} symbols (${seededRows.rows.toLocaleString('en-US')} seeded bars), ${CONNECTIONS} connections, ${DURATION_S}s; in-process server and generator thread share ${threads} cores`,
);
loadLine('GET /api/health (reference)', c.reference);
loadLine('predictions, route cache on (default)', c.cached);
loadLine('predictions, cache off (read + fit per request)', c.uncached);
console.log(`  target: p95 < 200 ms → ${c.cached.p95Ms < 200 ? 'met' : 'MISSED'} (cache on), ${c.uncached.p95Ms < 200 ? 'met' : 'MISSED'} (cache off)`);

const result = {
  benchmark: 'backtest',
  date: new Date().toISOString(),
  node: process.version,
  threads,
  strategy: { type: spec.type, params: spec.params },
  minute: { symbols: 1, bars: minuteBars, session: '252 days × 390 minutes', equityDeviation: minuteDeviation, ...ratios(a) },
  daily: { symbols, barsPerSymbol: days, bars: dailyBars, equityDeviation: dailyDeviation, ...ratios(b) },
  predictions: {
    endpoint: 'GET /api/predictions/:symbol?horizon=5',
    model: predictModel,
    symbols: PREDICT_SYMBOLS,
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    note: 'in-process server; generator on its own thread; both share the machine cores',
    ...c,
    cachedP95VsReference: c.cached.p95Ms / c.reference.p95Ms,
    uncachedP95VsReference: c.uncached.p95Ms / c.reference.p95Ms,
  },
  headline: {
    subject: `backtest engine, ${symbols} symbols daily, worker pool`,
    reference: 'the reference loop (same run)',
    throughput: { unit: 'bars/s', value: b.pool.barsPerSecond, reference: b.reference.barsPerSecond },
    latencyMs: { value: { p50: b.pool.p50Ms, p99: b.pool.p99Ms }, reference: { p50: b.reference.p50Ms, p99: b.reference.p99Ms } },
    figures: [{ name: 'predictions p95, route cache on vs off', unit: 'ms', better: 'lower', value: c.cached.p95Ms, reference: c.uncached.p95Ms }],
  } satisfies Headline,
};
function ratios(m: { reference: Measured; inline: Measured; pool: Measured }) {
  return { ...m, inlineVsReference: m.inline.barsPerSecond / m.reference.barsPerSecond, poolVsReference: m.pool.barsPerSecond / m.reference.barsPerSecond };
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/backtest.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log('\nwrote bench/results/backtest.json');
