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
import { Pool } from 'undici';
import { createHistogram, recordMs, type Histogram } from '../src/loadtest/histogram.ts';
import { createTempDatabase, pgAvailable } from '../test/support/servers.ts';
import { BENCH_ADMIN_TOKEN, startPlatform } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ACCOUNTS = CONCURRENCY;
const WARMUP_MS = 3_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'GOOGL', 'META', 'NVDA', 'TSLA', 'JPM'];

interface Run {
  ok: number;
  rejected: number;
  failed: number;
  latency: Histogram;
  seconds: number;
}

function summary(name: string, run: Run): Record<string, string | number> {
  const p = (q: number) => (run.latency.getValueAtPercentile(q) / 1000).toFixed(2);
  return { name, 'per second': Math.round(run.ok / run.seconds), p50: p(50), p95: p(95), p99: p(99), 'max ms': (run.latency.maxValue / 1000).toFixed(1), rejected: run.rejected, errors: run.failed };
}

/** Runs `op` from CONCURRENCY loops: a warm-up, then MEASURE_MS of recorded latencies. */
async function drive(op: (worker: number, i: number) => Promise<'ok' | 'rejected' | 'failed'>): Promise<Run> {
  const run: Run = { ok: 0, rejected: 0, failed: 0, latency: createHistogram(), seconds: MEASURE_MS / 1000 };
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + MEASURE_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; ; i++) {
        const t0 = performance.now();
        if (t0 >= end) return;
        const outcome = await op(worker, i);
        const t1 = performance.now();
        if (t0 < measureFrom || t1 > end) continue;
        run[outcome]++;
        if (outcome === 'ok') recordMs(run.latency, t1 - t0);
      }
    }),
  );
  return run;
}

async function benchOrders(url: string): Promise<Run> {
  const http = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const tokens: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const res = await http.request({
      path: '/api/admin/users',
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench${i}`, role: 'trader', openingCash: 100_000_000 }),
    });
    tokens.push(((await res.body.json()) as { token: string }).token);
  }
  const quotes = await http.request({ path: `/api/market-data/quotes?symbols=${SYMBOLS.join(',')}`, method: 'GET', headers: { authorization: `Bearer ${tokens[0]}` } });
  const bids = new Map(((await quotes.body.json()) as { quotes: { symbol: string; bid: number }[] }).quotes.map((q) => [q.symbol, q.bid]));
  const run = await drive(async (worker, i) => {
    const symbol = SYMBOLS[worker % SYMBOLS.length]!;
    const kind = i % 10;
    const order =
      kind < 7
        ? { symbol, side: kind % 2 === 0 ? 'buy' : 'sell', type: 'market', quantity: 1 }
        : { symbol, side: 'buy', type: 'limit', limitPrice: Math.round(bids.get(symbol)! * 95) / 100, quantity: 1, timeInForce: 'gtc' };
    try {
      const res = await http.request({
        path: '/api/orders',
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[worker % ACCOUNTS]}`, 'content-type': 'application/json' },
        body: JSON.stringify(order),
      });
      await res.body.dump();
      return res.statusCode === 201 ? 'ok' : res.statusCode === 422 ? 'rejected' : 'failed';
    } catch {
      return 'failed';
    }
  });
  await http.close();
  return run;
}

async function benchInserts(databaseUrl: string): Promise<Run> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
  await pool.query('CREATE TABLE bench_reference (id bigserial PRIMARY KEY, account_id bigint NOT NULL, symbol text NOT NULL, side text NOT NULL, quantity bigint NOT NULL, price bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  const run = await drive(async (worker) => {
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
    orders = await benchOrders(server.url);
  } finally {
    await server.stop();
  }
  const inserts = await benchInserts(database.url);
  console.log('');
  printTable([summary('orders (HTTP, risk, fills, group commit)', orders), summary('reference: single-row INSERT transactions', inserts)]);
  const ratio = orders.ok / orders.seconds / (inserts.ok / inserts.seconds);
  console.log(`\ndurable orders per second / single-row insert transactions per second: ${ratio.toFixed(2)}×`);
  const figures = (run: Run) => ({
    perSecond: Math.round(run.ok / run.seconds),
    p50Ms: run.latency.getValueAtPercentile(50) / 1000,
    p95Ms: run.latency.getValueAtPercentile(95) / 1000,
    p99Ms: run.latency.getValueAtPercentile(99) / 1000,
    maxMs: run.latency.maxValue / 1000,
    rejected: run.rejected,
    errors: run.failed,
  });
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
