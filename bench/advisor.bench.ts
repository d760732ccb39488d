/**
 * Cost of the database advisor's instruments: in-app statement statistics (flag
 * `observability.database`, which now also keeps calls, totals, rows and a sampled call site per
 * statement) and plan sampling (`observability.plan-sampling`: EXPLAIN ANALYZE of slow statements,
 * rate-limited), on the order load of bench:orders (PostgreSQL server) and on the cached quote read;
 * and the cost of a running CPU profiling session (flags off, `POST /api/performance/profiling/start`).
 * One platform process; the flags are switched through the admin API between short rounds that rotate
 * the modes (off, stats, stats + plans, cpu profile), so drift and background load hit every mode alike;
 * each mode is compared with `off` of the same round and the median of those ratios is reported with
 * their range (the noise). Target: < 2% each. Writes bench/results/advisor.json.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { createTempDatabase, pgAvailable } from '../test/support/servers.ts';
import { orderLoad } from './support/order-load.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, type Server } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const MODES = { off: [], stats: ['observability.database'], 'stats + plans': ['observability.database', 'observability.plan-sampling'], 'cpu profile': [] } as const;
type Mode = keyof typeof MODES;
const FLAGS = ['observability.database', 'observability.plan-sampling'];

async function admin(server: Server, method: 'PUT' | 'POST', path: string, body: object): Promise<void> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

async function setMode(server: Server, mode: Mode): Promise<void> {
  for (const flag of FLAGS) await admin(server, 'PUT', `/api/admin/flags/${flag}`, { enabled: (MODES[mode] as readonly string[]).includes(flag) });
  // A session covers the mode's orders and reads; it is stopped before the next mode.
  if (mode === 'cpu profile') await admin(server, 'POST', '/api/performance/profiling/start', { kind: 'cpu', durationMs: 4 * SECONDS * 1000 });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

if (!(await pgAvailable())) {
  console.error('bench:advisor needs a PostgreSQL server (TACHYON_TEST_PG_URL)');
  process.exit(1);
}
const database = await createTempDatabase('bench_advisor');
const server = await startPlatform({ DATABASE_URL: database.url, TACHYON_TICK_RATE: '1000', TACHYON_RATE_LIMIT: '0', TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0' });
const load = { before: loadavg()[0]! };
const perMode = (): Record<Mode, number[]> => ({ off: [], stats: [], 'stats + plans': [], 'cpu profile': [] });
const orders = perMode();
const orderP99 = perMode();
const reads = perMode();
try {
  console.log(`advisor: ${ROUNDS} rounds × 4 modes × (${SECONDS} s of orders at ${CONCURRENCY} clients + ${SECONDS} s of cached reads); server and generator share the machine`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      await setMode(server, mode);
      const run = await orderLoad(server.url, { concurrency: CONCURRENCY, warmupMs: 1_000, measureMs: SECONDS * 1000, userPrefix: `r${round}-${mode.replace(/\W+/g, '')}-` });
      orders[mode].push(run.ok / run.seconds);
      orderP99[mode].push(run.latency.getValueAtPercentile(99) / 1000);
      const read = await autocannon({ url: `${server.url}/api/market-data/quotes/AAPL`, connections: 50, duration: SECONDS, headers: { authorization: `Bearer ${BENCH_DEMO_TOKEN}` } });
      reads[mode].push(read.requests.average);
      if (mode === 'cpu profile') await admin(server, 'POST', '/api/performance/profiling/stop', {});
      process.stderr.write(`  round ${round + 1} ${mode}: ${Math.round(run.ok / run.seconds)} orders/s, ${Math.round(read.requests.average)} reads/s\n`);
    }
  }
} finally {
  await server.stop();
  await database.drop();
}
/** Each round's value against `off` of the same round: median and range, in percent. */
function vsOff(values: Record<Mode, number[]>, mode: Mode): string {
  const changes = values[mode].map((v, i) => (v / values.off[i]! - 1) * 100);
  const sorted = [...changes].sort((a, b) => a - b);
  return `${median(changes).toFixed(1)}% [${sorted[0]!.toFixed(1)}, ${sorted.at(-1)!.toFixed(1)}]`;
}
const row = (mode: Mode) => ({
  mode,
  'orders/s': Math.round(median(orders[mode])),
  'order p99 ms': median(orderP99[mode]).toFixed(1),
  'orders vs off (range)': vsOff(orders, mode),
  'reads/s': Math.round(median(reads[mode])),
  'reads vs off (range)': vsOff(reads, mode),
});
printTable((Object.keys(MODES) as Mode[]).map(row));
console.log(`load average ${load.before.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
const headline: Headline = {
  subject: 'statement stats + plan sampling on',
  reference: 'advisor instrumentation off (same run)',
  throughput: { unit: 'orders/s', value: median(orders['stats + plans']), reference: median(orders.off) },
  figures: [
    { name: 'order p99', unit: 'ms', better: 'lower', value: median(orderP99['stats + plans']), reference: median(orderP99.off) },
    { name: 'cached reads', unit: 'req/s', better: 'higher', value: median(reads['stats + plans']), reference: median(reads.off) },
  ],
};
console.log(`wrote ${writeResults('advisor', { rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY, orders, orderP99, reads, loadAverage: { ...load, after: loadavg()[0] }, headline })}`);
