/**
 * Order placement benchmark: durable orders per second and latency percentiles through the real
 * HTTP API (`tachyon start` in a child process) against a fresh database on the PostgreSQL server,
 * with concurrent clients each trading their own account: 70% market orders (alternating buy and
 * sell, so positions stay small) and 30% resting limit buys. Every 201 is an order whose risk check,
 * execution, cash and position changes were committed.
 * Reference, same run, same database, same concurrency: plain single-row INSERT transactions
 * through a pg Pool — one commit per row, what a design without group commit pays at best.
 * Writes bench/results/orders.json.
 */
import pg from 'pg';
import { createTempDatabase, pgAvailable } from '../test/support/servers.ts';
import { startPlatform } from './support/processes.ts';
import { drive, figures, summary, type Run } from './support/closed-loop.ts';
import { orderLoad } from './support/order-load.ts';
import { printTable, writeResults } from './support/results.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ACCOUNTS = CONCURRENCY;
const WARMUP_MS = 3_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const LOAD = { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, measureMs: MEASURE_MS };

async function benchInserts(databaseUrl: string): Promise<Run> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
  await pool.query('CREATE TABLE bench_reference (id bigserial PRIMARY KEY, account_id bigint NOT NULL, symbol text NOT NULL, side text NOT NULL, quantity bigint NOT NULL, price bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  const run = await drive(LOAD, async (worker) => {
    try {
      await pool.query('INSERT INTO bench_reference (account_id, symbol, side, quantity, price) VALUES ($1, $2, $3, $4, $5)', [worker, 'AAPL', 'buy', 1, 1_000_000]);
      return 'ok';
    } catch {
      return 'failed';
    }
  });
  await pool.end();
  return run;
}

if (!(await pgAvailable())) {
  console.error('bench:orders needs a PostgreSQL server (TACHYON_TEST_PG_URL)');
  process.exit(1);
}
const database = await createTempDatabase('bench_orders');
try {
  console.log(`orders: ${CONCURRENCY} concurrent clients, ${ACCOUNTS} accounts, ${WARMUP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s measured; server and load generator share this machine's cores`);
  const server = await startPlatform({
    DATABASE_URL: database.url,
    TACHYON_TICK_RATE: '1000',
    TACHYON_RATE_LIMIT: '0',
    TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000',
  });
  let orders: Run;
  try {
    orders = await orderLoad(server.url, LOAD);
  } finally {
    await server.stop();
  }
  const inserts = await benchInserts(database.url);
  console.log('');
  printTable([summary('orders (HTTP, risk, fills, group commit)', orders), summary('reference: single-row INSERT transactions', inserts)]);
  const ratio = orders.ok / orders.seconds / (inserts.ok / inserts.seconds);
  console.log(`\ndurable orders per second / single-row insert transactions per second: ${ratio.toFixed(2)}×`);
  const file = writeResults('orders', {
    concurrency: CONCURRENCY,
    accounts: ACCOUNTS,
    measuredSeconds: MEASURE_MS / 1000,
    mix: '70% market (alternating buy/sell), 30% resting limit buys, quantity 1',
    orders: figures(orders),
    reference: { name: 'single-row INSERT transactions, pg Pool, same database and concurrency', ...figures(inserts) },
    ratio,
  });
  console.log(`wrote ${file}`);
} finally {
  await database.drop();
}
