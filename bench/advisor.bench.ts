/**
 * Cost of the database advisor's instruments: in-app statement statistics (flag
 * `observability.database`, which now also keeps calls, totals, rows and a sampled call site per
 * statement) and plan sampling (`observability.plan-sampling`: EXPLAIN ANALYZE of slow statements,
 * rate-limited), on the order load of bench:orders (PostgreSQL server) and on the cached quote read.
 * One platform process; the flags are switched through the admin API between short rounds that rotate
 * the modes (off, stats, stats + plans), so drift and background load hit every mode alike; medians
 * are compared with `off`, the reference. Target: < 2% each. Writes bench/results/advisor.json.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { createTempDatabase, pgAvailable } from '../test/support/servers.ts';
import { orderLoad } from './support/order-load.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const MODES = { off: [], stats: ['observability.database'], 'stats + plans': ['observability.database', 'observability.plan-sampling'] } as const;
type Mode = keyof typeof MODES;
const FLAGS = ['observability.database', 'observability.plan-sampling'];

async function setMode(server: Server, mode: Mode): Promise<void> {
  for (const flag of FLAGS) {
    const res = await fetch(`${server.url}/api/admin/flags/${flag}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: (MODES[mode] as readonly string[]).includes(flag) }),
    });
    if (!res.ok) throw new Error(`flag ${flag}: ${res.status}`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

if (!(await pgAvailable())) {
  console.error('bench:advisor needs a PostgreSQL server (TACHYON_TEST_PG_URL)');
  process.exit(1);
}
const database = await createTempDatabase('bench_advisor');
const server = await startPlatform({ DATABASE_URL: database.url, TACHYON_TICK_RATE: '1000', TACHYON_RATE_LIMIT: '0', TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000' });
const load = { before: loadavg()[0]! };
const orders: Record<Mode, number[]> = { off: [], stats: [], 'stats + plans': [] };
const orderP99: Record<Mode, number[]> = { off: [], stats: [], 'stats + plans': [] };
const reads: Record<Mode, number[]> = { off: [], stats: [], 'stats + plans': [] };
try {
  console.log(`advisor: ${ROUNDS} rounds × 3 modes × (${SECONDS} s of orders at ${CONCURRENCY} clients + ${SECONDS} s of cached reads); server and generator share the machine`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      await setMode(server, mode);
      const run = await orderLoad(server.url, { concurrency: CONCURRENCY, warmupMs: 1_000, measureMs: SECONDS * 1000, userPrefix: `r${round}-${mode.replace(/\W+/g, '')}-` });
      orders[mode].push(run.ok / run.seconds);
      orderP99[mode].push(run.latency.getValueAtPercentile(99) / 1000);
      const read = await autocannon({ url: `${server.url}/api/market-data/quotes/AAPL`, connections: 50, duration: SECONDS, headers: { authorization: `Bearer ${BENCH_DEMO_TOKEN}` } });
      reads[mode].push(read.requests.average);
      process.stderr.write(`  round ${round + 1} ${mode}: ${Math.round(run.ok / run.seconds)} orders/s, ${Math.round(read.requests.average)} reads/s\n`);
    }
  }
} finally {
  await server.stop();
  await database.drop();
}
const row = (mode: Mode) => ({
  mode,
  'orders/s': Math.round(median(orders[mode])),
  'order p99 ms': median(orderP99[mode]).toFixed(1),
  'orders vs off': `${((median(orders[mode]) / median(orders.off) - 1) * 100).toFixed(1)}%`,
  'reads/s': Math.round(median(reads[mode])),
  'reads vs off': `${((median(reads[mode]) / median(reads.off) - 1) * 100).toFixed(1)}%`,
});
printTable((Object.keys(MODES) as Mode[]).map(row));
console.log(`load average ${load.before.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
console.log(`wrote ${writeResults('advisor', { rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY, orders, orderP99, reads, loadAverage: { ...load, after: loadavg()[0] } })}`);
