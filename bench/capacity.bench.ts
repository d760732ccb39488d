/**
 * Capacity measurements for the planner: one instance (the real `tachyon start`, embedded default)
 * under a closed-model mix of the trader's read routes at increasing concurrency (1, 2, 4 … 64
 * connections; BENCH_LEVELS to change), throughput and latency per level in an HDR histogram, then the
 * Universal Scalability Law fitted to the points. Writes bench/results/capacity.json, which
 * `tachyon capacity` and GET /api/performance/capacity read. The load generator shares the machine's
 * cores with the server: the fitted contention includes that, so the plan is conservative.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { fitUsl, uslThroughput } from '../src/capacity/usl.ts';
import { createHistogram, latencyStats, recordMs } from '../src/kernel/histogram.ts';
import { BENCH_DEMO_TOKEN, startPlatform } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const LEVELS = (process.env.BENCH_LEVELS ?? '1,2,4,8,16,32,64').split(',').map(Number);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 4);
const WARMUP_S = 2;
/** The mix: what a trading screen reads (quotes, portfolio, open orders, an instrument page). */
export const CAPACITY_MIX = [
  { method: 'GET', path: '/api/market-data/quotes/AAPL' },
  { method: 'GET', path: '/api/market-data/quotes/MSFT' },
  { method: 'GET', path: '/api/portfolio' },
  { method: 'GET', path: '/api/orders?limit=20' },
  { method: 'GET', path: '/api/instruments?limit=50' },
] as const;

async function level(url: string, connections: number, durationS: number) {
  const histogram = createHistogram();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url, connections, duration: durationS, headers: { authorization: `Bearer ${BENCH_DEMO_TOKEN}` }, requests: CAPACITY_MIX.map((r) => ({ method: r.method, path: r.path })) },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => recordMs(histogram, responseTimeMs));
  });
  const stats = latencyStats(histogram);
  return { concurrency: connections, throughput: result.requests.average, meanMs: stats.avg, p95Ms: stats.p95, p99Ms: stats.p99, errors: result.errors + result.non2xx };
}

const server = await startPlatform({ TACHYON_RATE_LIMIT: '0' });
const loadBefore = loadavg()[0]!;
let maxRss = 0;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, server.rss())), 250);
try {
  process.stderr.write(`capacity: warm-up ${WARMUP_S}s, then ${LEVELS.length} levels of ${DURATION_S}s\n`);
  await level(server.url, 8, WARMUP_S);
  const points = [];
  for (const n of LEVELS) {
    const point = await level(server.url, n, DURATION_S);
    process.stderr.write(`  N=${n}: ${Math.round(point.throughput)} req/s, p95 ${point.p95Ms.toFixed(2)} ms\n`);
    points.push(point);
  }
  const fit = fitUsl(points);
  const ratios = points.map((p) => p.p95Ms / p.meanMs).sort((a, b) => a - b);
  const p95ToMean = ratios[Math.floor(ratios.length / 2)]!;
  printTable(points.map((p) => ({ N: p.concurrency, 'req/s': Math.round(p.throughput), 'USL req/s': Math.round(uslThroughput(fit, p.concurrency)), 'mean ms': p.meanMs.toFixed(2), 'p95 ms': p.p95Ms.toFixed(2), errors: p.errors })));
  console.log(`USL: λ=${fit.lambda.toFixed(1)} req/s, σ=${fit.sigma.toFixed(4)}, κ=${fit.kappa.toExponential(3)}, R²=${fit.r2.toFixed(4)}, peak ${Math.round(fit.peakThroughput)} req/s at N=${fit.peakConcurrency.toFixed(1)}; p95/mean ${p95ToMean.toFixed(2)}`);
  console.log(`load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after; generator and server share the machine's cores`);
  const file = writeResults('capacity', {
    mix: CAPACITY_MIX,
    durationS: DURATION_S,
    points,
    fit,
    p95ToMean,
    instance: { cores: 1, memoryBytes: maxRss, databaseConnections: 20 },
    loadAverage: { before: loadBefore, after: loadavg()[0] },
    headline: headlineOf(points),
  });
  console.log(`wrote ${file}`);
} finally {
  clearInterval(sampler);
  await server.stop();
}

/** The busiest level against the least busy one: how far the instance scales with concurrency. */
function headlineOf(points: ReadonlyArray<{ concurrency: number; throughput: number; p95Ms: number }>): Headline {
  const low = points[0]!;
  const high = points[points.length - 1]!;
  return {
    subject: `capacity mix at concurrency ${high.concurrency}`,
    reference: `concurrency ${low.concurrency} (same run)`,
    throughput: { unit: 'req/s', value: high.throughput, reference: low.throughput },
    figures: [{ name: 'p95', unit: 'ms', better: 'lower', value: high.p95Ms, reference: low.p95Ms }],
  };
}
