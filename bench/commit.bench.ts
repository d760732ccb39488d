/**
 * One journal commit on the embedded engine as the platform runs it (PGlite on its own thread, a data
 * directory, every migration): the commit of a filled market order (its order, execution, cash, position
 * and account rows: one WRITE_BATCH), one after another. The journal as shipped (its statement prepared
 * and urgent, src/trading/journal.ts) against the same journal whose statement hints are dropped (the
 * reference: parsed and planned on every call, queued in arrival order), in alternating rounds on the same
 * engine, twice: on an idle engine, and while neighbours keep the engine busy: BENCH_NEIGHBOURS loops of
 * COPY slices (1,000 rows each, back to back, each loop with one statement in flight, as each of the
 * platform's background writers has: the history loader, the quote snapshots, the bar writer; unpaced,
 * so worse neighbours than those). Latency per commit (HDR), the process's CPU per commit on the idle
 * engine; writes bench/results/commit.json.
 * Options: BENCH_COMMITS (300 per round and variant), BENCH_ROUNDS (3), BENCH_NEIGHBOURS (2).
 */
import * as hdr from 'hdr-histogram-js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, Queryable } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openEmbedded } from '../src/db/pglite.ts';
import { Journal } from '../src/trading/journal.ts';
import type { Order } from '../src/trading/order.ts';
import type { Position } from '../src/trading/position.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const COMMITS = Number(process.env.BENCH_COMMITS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NEIGHBOURS = Number(process.env.BENCH_NEIGHBOURS ?? 2);
const SLICE_ROWS = 1_000;
const HOLDER = 'bench';
const LEASE = 'bench-shard';

type Histogram = ReturnType<typeof hdr.build>;
const histogram = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

const root = mkdtempSync(join(tmpdir(), 'tachyon-bench-commit-'));
mkdirSync(join(root, 'pglite'));
const db = await openEmbedded(join(root, 'pglite'), { thread: true });

/** The same database with the statement hints dropped: what every statement got before them. */
function withoutHints(target: Database): Queryable {
  return { query: (sql, params) => target.query(sql, params), exec: (sql) => target.exec(sql) };
}

function journal(target: Queryable): Journal {
  return new Journal(target, {
    maxBatchRows: 20_000,
    maxWaitMs: 0,
    onFailure: (error) => {
      throw error;
    },
    fence: { holder: HOLDER, lease: () => LEASE, epoch: () => 1 },
  });
}

let nextId = 1;
let accountCash = 1e12;
/** The account's one position, as the engine keeps it: one share more per commit. */
const position: Position = { quantity: 0, costBasis: 0, realizedPnl: 0 };
/** Records a filled market buy of one share and waits for its commit; returns the latency in µs. */
async function commitOne(into: Journal): Promise<number> {
  const now = Date.now();
  const price = 1_000_000;
  const order: Order = {
    id: nextId++, accountId: 1, clientOrderId: null, instrumentId: 1, symbol: 'BENCH', side: 'buy', type: 'market', timeInForce: 'day',
    quantity: 1, limitPrice: null, stopPrice: null, status: 'filled', filledQuantity: 1, filledNotional: price,
    rejectReason: null, rejectMessage: null, triggered: false, createdAt: now, updatedAt: now,
  };
  const started = performance.now();
  accountCash -= price;
  const executionId = nextId++;
  into.order(order);
  into.execution({ id: executionId, orderId: order.id, accountId: 1, instrumentId: 1, side: 'buy', quantity: 1, price, ts: now });
  into.cash({ id: nextId++, accountId: 1, amount: -price, balanceAfter: accountCash, refId: executionId, ts: now });
  position.quantity += 1;
  position.costBasis += price;
  into.position(1, 1, position, now);
  into.account(1, accountCash);
  await into.durable();
  return Math.max(1, Math.round((performance.now() - started) * 1000));
}

/** The next minute the history load writes (1,000 instruments per minute, every minute once). */
let minute = Date.UTC(2026, 0, 5, 14, 30);

/** COPY slices into a copy of bars_1m, back to back, until stopped (a history load that never yields). */
function historyLoad(): { stop(): Promise<number> } {
  let stopped = false;
  let slices = 0;
  const run = (async () => {
    while (!stopped) {
      const rows: string[] = [];
      for (let i = 0; i < SLICE_ROWS; i++) rows.push(`${1 + (i % 1000)}\t${new Date(minute).toISOString()}\t100\t101\t99\t100\t10`);
      minute += 60_000;
      await db.copyFrom('bench_history', ['instrument_id', 'ts', 'open', 'high', 'low', 'close', 'volume'], rows.join('\n'));
      slices++;
    }
  })();
  // A failed slice is reported by stop(), not as an unhandled rejection that skips the clean-up.
  run.catch(() => {});
  return {
    async stop() {
      stopped = true;
      await run;
      return slices;
    },
  };
}

interface Variant {
  name: string;
  journal: Journal;
  idle: Histogram;
  loaded: Histogram;
  cpuMs: number;
  commits: number;
  /** Neighbours' COPY slices done during this variant's loaded rounds, and those rounds' seconds. */
  slices: number;
  loadedSeconds: number;
}

try {
  await migrate(db);
  await db.query(`INSERT INTO cluster_leases (name, holder, epoch, expires_at) VALUES ($1, $2, 1, now() + interval '1 day')`, [LEASE, HOLDER]);
  await db.query(`INSERT INTO users (name, role) VALUES ('bench', 'trader')`);
  await db.query(`INSERT INTO instruments (id, symbol, name, sector, exchange, tick_size, lot_size, base_price, volatility, avg_volume) VALUES (1, 'BENCH', 'Bench', 'Tech', 'XNAS', 100, 1, 1000000, 0.2, 1000000)`);
  await db.query(`INSERT INTO accounts (id, user_id, opening_cash, cash) SELECT 1, id, $1, $1 FROM users WHERE name = 'bench'`, [accountCash]);
  await db.exec('CREATE TABLE bench_history (LIKE bars_1m INCLUDING DEFAULTS INCLUDING INDEXES)');

  const variants: Variant[] = [
    { name: 'prepared + urgent (as shipped)', journal: journal(db), idle: histogram(), loaded: histogram(), cpuMs: 0, commits: 0, slices: 0, loadedSeconds: 0 },
    { name: 'reference: plain statement, arrival order', journal: journal(withoutHints(db)), idle: histogram(), loaded: histogram(), cpuMs: 0, commits: 0, slices: 0, loadedSeconds: 0 },
  ];
  // Warm-up: PGlite's WebAssembly tiers up, the month partitions exist, the statement is prepared.
  for (const v of variants) for (let i = 0; i < 50; i++) await commitOne(v.journal);

  console.log(`commit: ${ROUNDS} rounds × ${COMMITS} commits per variant, idle and beside ${NEIGHBOURS} unpaced loops of ${SLICE_ROWS}-row COPY slices; load average ${loadavg()[0]!.toFixed(1)}`);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order per round: neither variant always runs first after the other warmed the caches.
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < COMMITS; i++) v.idle.recordValue(await commitOne(v.journal));
      const used = process.cpuUsage(cpu);
      v.cpuMs += (used.user + used.system) / 1000;
      v.commits += COMMITS;
    }
    for (const v of order) {
      const started = performance.now();
      const loads = Array.from({ length: NEIGHBOURS }, () => historyLoad());
      for (let i = 0; i < COMMITS; i++) v.loaded.recordValue(await commitOne(v.journal));
      for (const load of loads) v.slices += await load.stop();
      v.loadedSeconds += (performance.now() - started) / 1000;
    }
  }

  const ms = (h: Histogram, p: number) => Math.round(h.getValueAtPercentile(p) / 10) / 100;
  printTable(
    variants.map((v) => ({
      variant: v.name,
      'idle p50': ms(v.idle, 50),
      'idle p99': ms(v.idle, 99),
      'CPU ms/commit': (v.cpuMs / v.commits).toFixed(2),
      'loading p50': ms(v.loaded, 50),
      'loading p99': ms(v.loaded, 99),
      'loading max': ms(v.loaded, 100),
      // What urgency costs the neighbours: their statements wait for the commits that jump them.
      'neighbour slices/s': Math.round(v.slices / v.loadedSeconds),
    })),
  );
  const [shipped, reference] = variants as [Variant, Variant];
  console.log(`\nload average now ${loadavg()[0]!.toFixed(1)} (2 shared cores: a smoke)`);
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(`reference ÷ shipped: idle p50 ${ratio(ms(reference.idle, 50), ms(shipped.idle, 50))}×, idle CPU per commit ${ratio(reference.cpuMs / reference.commits, shipped.cpuMs / shipped.commits)}×`);
  console.log(`                     beside the neighbours p50 ${ratio(ms(reference.loaded, 50), ms(shipped.loaded, 50))}×, p99 ${ratio(ms(reference.loaded, 99), ms(shipped.loaded, 99))}×`);
  const pct = (h: Histogram) => ({ p50: ms(h, 50), p95: ms(h, 95), p99: ms(h, 99) });
  const headline: Headline = {
    subject: 'journal commit on the embedded engine, beside a history load',
    reference: 'the same journal without statement hints (plain statement, arrival order), same run',
    latencyMs: { value: pct(shipped.loaded), reference: pct(reference.loaded) },
    figures: [
      { name: 'idle commit p50', unit: 'ms', better: 'lower', value: ms(shipped.idle, 50), reference: ms(reference.idle, 50) },
      { name: 'CPU per commit', unit: 'ms', better: 'lower', value: shipped.cpuMs / shipped.commits, reference: reference.cpuMs / reference.commits },
    ],
  };
  const figures = (v: Variant) => ({ idleMs: pct(v.idle), loadingMs: { ...pct(v.loaded), max: ms(v.loaded, 100) }, cpuMsPerCommit: v.cpuMs / v.commits, neighbourSlicesPerSecond: v.slices / v.loadedSeconds });
  console.log(`wrote ${writeResults('commit', { commits: COMMITS, rounds: ROUNDS, neighbours: NEIGHBOURS, sliceRows: SLICE_ROWS, shipped: figures(shipped), reference: figures(reference), loadAverage: loadavg()[0], headline })}`);
} finally {
  await db.close();
  rmSync(root, { recursive: true, force: true });
}
