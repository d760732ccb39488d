/**
 * How the load-shedding thresholds were chosen: the platform runs with shedding off, and a closed
 * model (autocannon, keep-alive) drives it from idle to far past saturation on a cheap route (a
 * quote) and an expensive one (1,000 instruments serialized). For each step the mean and p99
 * event-loop delay over the step (prom-client's monitor, reset by each scrape) are printed next to
 * the request latency, so the threshold can be placed where delay means queueing, not noise.
 */
import autocannon from 'autocannon';
import { BENCH_DEMO_TOKEN, startPlatform } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const STEP_S = Number(process.env.BENCH_DURATION ?? 5);
const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const auth = { authorization: `Bearer ${BENCH_DEMO_TOKEN}` };

const platform = await startPlatform({ TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0', METRICS_TOKEN });

async function loopDelay(): Promise<{ meanMs: number; p99Ms: number }> {
  const text = await (await fetch(`${platform.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { meanMs: read('nodejs_eventloop_lag_mean_seconds'), p99Ms: read('nodejs_eventloop_lag_p99_seconds') };
}

const rows: Record<string, string | number>[] = [];
const steps: Array<{ route: string; path: string; connections: number }> = [];
for (const connections of [1, 8, 32, 128, 512]) steps.push({ route: 'quote', path: '/api/market-data/quotes/AAPL', connections });
for (const connections of [1, 8, 32, 128]) steps.push({ route: 'instruments ×1000', path: '/api/instruments?limit=1000', connections });

await autocannon({ url: platform.url + steps[0]!.path, connections: 8, duration: 2, headers: auth }); // warm-up
for (const step of steps) {
  await loopDelay(); // resets the monitor
  const result = await autocannon({ url: platform.url + step.path, connections: step.connections, duration: STEP_S, headers: auth });
  const delay = await loopDelay();
  const row = {
    route: step.route,
    connections: step.connections,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    'loop delay mean ms': Number(delay.meanMs.toFixed(1)),
    'loop delay p99 ms': Number(delay.p99Ms.toFixed(1)),
  };
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
await platform.stop();

console.log(`\nEvent-loop delay against load, shedding off (${STEP_S}s per step, generator on the same cores)\n`);
printTable(rows);
// The heaviest quote step against the lightest: how far latency and event-loop delay grow with load when nothing sheds.
const [light, heavy] = [rows[0]!, rows[steps.filter((s) => s.route === 'quote').length - 1]!];
const headline: Headline = {
  subject: `quote reads at ${heavy.connections} connections, shedding off`,
  reference: `${light.connections} connection (same run)`,
  throughput: { unit: 'req/s', value: Number(heavy['req/s']), reference: Number(light['req/s']) },
  latencyMs: { value: { p50: Number(heavy['p50 ms']), p99: Number(heavy['p99 ms']) }, reference: { p50: Number(light['p50 ms']), p99: Number(light['p99 ms']) } },
  figures: [{ name: 'event-loop delay p99', unit: 'ms', better: 'lower', value: Number(heavy['loop delay p99 ms']), reference: Number(light['loop delay p99 ms']) }],
};
console.log(`results: ${writeResults('shedding', { stepSeconds: STEP_S, rows, headline })}`);
