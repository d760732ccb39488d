/**
 * Order placement benchmark: durable orders per second and latency percentiles through the real
 * HTTP API (`tachyon start` in a child process) against a fresh database on the PostgreSQL server,
 * with concurrent clients each trading their own account: 70% market orders (alternating buy and
 * sell, so positions stay small) and 30% resting limit buys. Every 201 is an order whose risk check,
 * execution, cash and position changes were committed.
 * Reference, same run, same database, same concurrency: plain single-row INSERT transactions
 * through a pg Pool — one commit per row, what a design without group commit pays at best.
 *
 * The cost of the edge hardening (issue #12) on orders, in the same run: the platform as shipped
 * (rate limiter and load shedding checking every request, the limit and the loop-delay threshold
 * raised so they never refuse one here, as in bench:http) against a second platform without them,
 * each on its own database, in BENCH_ROUNDS rotating rounds (the idle platform paused with SIGSTOP
 * so its timers do not compete); the cost is the median of the rounds' throughput ratios.
 * Each variant's server CPU time per durable order over the measured window is printed too, and with
 * BENCH_BEFORE_DIR an older checkout's server (as shipped) joins the rotation: before/after, same run.
 * The cost of migration 020's mirror triggers (each write to the partitioned ledger copied into the
 * previous release's unpartitioned tables), in the same rotation: the platform as shipped against one
 * whose database has the three trading_* → legacy triggers dropped (BENCH_MIRROR=0 leaves it out).
 * With BENCH_EMBEDDED=1 the embedded default joins the rotation twice, PGlite on its own thread (as
 * shipped) and on the serving thread (TACHYON_DB_THREAD=false), each with its event-loop delay over
 * the measured window: what the engine's thread costs orders and spares the event loop.
 * Writes bench/results/orders.json.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { createTempDatabase, pgAvailable } from '../test/support/servers.ts';
import { LIMITS_OUT_OF_REACH_ENV, cpuSecondsOf, startPlatform, type Server } from './support/processes.ts';
import { createTraders, orderLoad, type Trader } from './support/order-load.ts';
import { drive, figures, summary, type Run } from './support/closed-loop.ts';
import { loopDelayProbe, type LoopDelay, type LoopDelayProbe } from './support/loop-delay.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ACCOUNTS = CONCURRENCY;
const WARMUP_MS = 3_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const LOAD = { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, measureMs: MEASURE_MS };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** A checkout of an older commit (node_modules linked): its server runs the same load in this run, for before/after. */
const BEFORE_DIR = process.env.BENCH_BEFORE_DIR;
const COMMON_ENV = { TACHYON_TICK_RATE: '1000', TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000' };
/** As shipped, with the limit and threshold out of reach (bench:http's `tachyon`). */
const HARDENED_ENV = LIMITS_OUT_OF_REACH_ENV;
const UNHARDENED_ENV = { TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0' };
const MIRROR = process.env.BENCH_MIRROR !== '0';
const EMBEDDED = process.env.BENCH_EMBEDDED === '1';
const ON_THREAD = 'embedded PGlite on its own thread (as shipped)';
const IN_THREAD = 'embedded PGlite on the serving thread (TACHYON_DB_THREAD=false)';
/** Migration 020's copies of this release's ledger writes into the previous release's tables. */
const MIRROR_TRIGGERS = ['trading_orders_mirror_insert ON trading_orders', 'trading_orders_mirror_update ON trading_orders', 'trading_executions_mirror ON trading_executions', 'trading_cash_mirror ON trading_cash_transactions'];

/** Drops the mirror triggers of a migrated database (what the contract release will do). */
async function dropMirror(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const trigger of MIRROR_TRIGGERS) await client.query(`DROP TRIGGER ${trigger}`);
  } finally {
    await client.end();
  }
}

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

interface Variant {
  name: string;
  server: Server;
  traders: Trader[];
  runs: Run[];
  /** The embedded variants' event-loop delay, per run. */
  probe?: LoopDelayProbe;
  loopDelays: (LoopDelay | undefined)[];
}

/** One measured load on a variant, resumed for it and paused after. */
async function measure(variant: Variant): Promise<Run> {
  const { pid } = variant.server;
  process.kill(pid, 'SIGCONT');
  try {
    // The sample opens and closes the measured window: the loop-delay window opens with it.
    let opened = false;
    const sample = () => {
      if (!opened && variant.probe) variant.probe.restart(pid);
      opened = true;
      return cpuSecondsOf(pid);
    };
    const run = await orderLoad(variant.server.url, { ...LOAD, sample }, { traders: variant.traders });
    if (variant.probe) variant.loopDelays.push(await variant.probe.read(pid));
    return run;
  } finally {
    process.kill(variant.server.pid, 'SIGSTOP');
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const perSecond = (run: Run) => run.ok / run.seconds;
/** The round whose throughput is the median (its latencies are printed). */
const typical = (variant: Variant) => [...variant.runs].sort((a, b) => perSecond(a) - perSecond(b))[Math.floor(variant.runs.length / 2)]!;
const cpuMsPerOrder = (run: Run) => ((run.sampled ?? 0) * 1000) / Math.max(1, run.ok);
const loadBefore = loadavg()[0]!;
const databases = await Promise.all([
  createTempDatabase('bench_orders'),
  createTempDatabase('bench_orders_bare'),
  ...(BEFORE_DIR ? [createTempDatabase('bench_orders_before')] : []),
  ...(MIRROR ? [createTempDatabase('bench_orders_nomirror')] : []),
]);
const noMirrorDatabase = MIRROR ? databases.at(-1) : undefined;
const servers: Server[] = [];
try {
  console.log(`orders: ${CONCURRENCY} concurrent clients, ${ACCOUNTS} accounts, ${WARMUP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s measured, ${ROUNDS} round(s) per variant; server and load generator share this machine's cores`);
  const variants: Variant[] = [];
  const specs: Array<[string, Record<string, string>, { url: string } | undefined, string | undefined]> = [
    ['orders (HTTP, risk, fills, group commit)', HARDENED_ENV, databases[0]!, undefined],
    ['orders without rate limiter and load shedding', UNHARDENED_ENV, databases[1]!, undefined],
  ];
  if (BEFORE_DIR) specs.push([`before (${BEFORE_DIR}), as shipped`, HARDENED_ENV, databases[2]!, BEFORE_DIR]);
  if (noMirrorDatabase) specs.push(['orders without 020 mirror triggers', HARDENED_ENV, noMirrorDatabase, undefined]);
  if (EMBEDDED) specs.push([ON_THREAD, HARDENED_ENV, undefined, undefined], [IN_THREAD, { ...HARDENED_ENV, TACHYON_DB_THREAD: 'false' }, undefined, undefined]);
  for (const [name, env, database, cwd] of specs) {
    // No database URL: the embedded default in a data directory of its own.
    const probe = database ? undefined : loopDelayProbe();
    const server = await startPlatform({ ...(database ? { DATABASE_URL: database.url } : {}), ...probe?.env, ...COMMON_ENV, ...env }, probe?.args ?? [], cwd);
    if (database && database === noMirrorDatabase) await dropMirror(database.url);
    servers.push(server);
    variants.push({ name, server, traders: await createTraders(server.url, CONCURRENCY), runs: [], probe, loopDelays: [] });
    process.kill(server.pid, 'SIGSTOP');
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      variant.runs.push(await measure(variant));
    }
  }
  for (const server of servers) process.kill(server.pid, 'SIGCONT');
  await Promise.all(servers.map((server) => server.stop()));
  servers.length = 0;
  const [hardened, unhardened] = variants as [Variant, Variant];
  const inserts = await benchInserts(databases[0].url);
  console.log('');
  printTable([
    ...variants.map((v) => ({ ...summary(v.name, typical(v)), 'CPU ms/order': median(v.runs.map(cpuMsPerOrder)).toFixed(3) })),
    summary('reference: single-row INSERT transactions', inserts),
  ]);
  const ratio = perSecond(typical(hardened)) / (inserts.ok / inserts.seconds);
  const hardeningCost = Math.round((1 - median(hardened.runs.map((run, i) => perSecond(run) / perSecond(unhardened.runs[i]!)))) * 1000) / 10;
  // CPU per order is steadier than throughput on shared cores: the same cost as a same-round ratio of it.
  const hardeningCpuCost = Math.round((median(hardened.runs.map((run, i) => cpuMsPerOrder(run) / cpuMsPerOrder(unhardened.runs[i]!))) - 1) * 1000) / 10;
  const before = BEFORE_DIR ? variants[2] : undefined;
  const noMirror = variants.find((v) => v.name === 'orders without 020 mirror triggers');
  const mirrorCost = noMirror ? Math.round((1 - median(hardened.runs.map((run, i) => perSecond(run) / perSecond(noMirror.runs[i]!)))) * 1000) / 10 : undefined;
  if (noMirror) {
    const p99 = (v: Variant) => figures(typical(v)).p99Ms;
    console.log(`020 mirror triggers: ${mirrorCost}% of order throughput (median of ${ROUNDS} same-round ratio(s)); p99 ${p99(hardened)} ms with, ${p99(noMirror)} ms without`);
  }
  const onThread = variants.find((v) => v.name === ON_THREAD);
  const inThread = variants.find((v) => v.name === IN_THREAD);
  const embedded = onThread && inThread ? embeddedComparison(onThread, inThread) : undefined;
  if (embedded) console.log(embedded.line);
  if (before) console.log(`server CPU per order vs before: ${(median(hardened.runs.map(cpuMsPerOrder)) / median(before.runs.map(cpuMsPerOrder))).toFixed(2)}×; orders per second ${median(hardened.runs.map((run, i) => perSecond(run) / perSecond(before.runs[i]!))).toFixed(2)}×`);
  const loadAfter = loadavg()[0]!;
  console.log(`\ndurable orders per second / single-row insert transactions per second: ${ratio.toFixed(2)}×`);
  console.log(`rate limiter + load shedding: ${hardeningCost}% of order throughput, ${hardeningCpuCost}% server CPU per order (medians of ${ROUNDS} same-round ratio(s); target < 2%)`);
  console.log(`load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}${loadBefore > 2 ? ' (a loaded machine: smoke, not a figure)' : ''}`);
  const file = writeResults('orders', {
    concurrency: CONCURRENCY,
    accounts: ACCOUNTS,
    measuredSeconds: MEASURE_MS / 1000,
    rounds: ROUNDS,
    loadAverage: { before: loadBefore, after: loadAfter },
    mix: '70% market (alternating buy/sell), 30% resting limit buys, quantity 1',
    orders: { ...figures(typical(hardened)), serverCpuMsPerOrder: median(hardened.runs.map(cpuMsPerOrder)) },
    withoutLimiterAndShedding: { ...figures(typical(unhardened)), serverCpuMsPerOrder: median(unhardened.runs.map(cpuMsPerOrder)) },
    ...(before ? { before: { dir: BEFORE_DIR, ...figures(typical(before)), serverCpuMsPerOrder: median(before.runs.map(cpuMsPerOrder)) } } : {}),
    ...(noMirror ? { withoutMirrorTriggers: { ...figures(typical(noMirror)), serverCpuMsPerOrder: median(noMirror.runs.map(cpuMsPerOrder)) }, mirrorCostPercent: mirrorCost } : {}),
    ...(embedded ? { embeddedEngineThread: embedded.figures } : {}),
    hardeningCpuCostPercent: hardeningCpuCost,
    hardeningCostPercent: hardeningCost,
    reference: { name: 'single-row INSERT transactions, pg Pool, same database and concurrency', ...figures(inserts) },
    ratio,
    headline: headlineOf(figures(typical(hardened)), figures(inserts)),
  });
  console.log(`wrote ${file}`);
} finally {
  for (const server of servers) {
    try {
      process.kill(server.pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  await Promise.all(servers.map((server) => server.stop()));
  await Promise.all(databases.map((database) => database.drop()));
}

/**
 * The embedded engine on its thread against on the serving thread: the median of same-round throughput ratios,
 * the median round's latencies, and the loop delay as the median of the rounds' p99 and the largest max.
 */
function embeddedComparison(onThread: Variant, inThread: Variant) {
  const latency = (v: Variant) => figures(typical(v));
  const figuresOf = (v: Variant) => ({
    p50Ms: latency(v).p50Ms!,
    p99Ms: latency(v).p99Ms!,
    serverCpuMsPerOrder: median(v.runs.map(cpuMsPerOrder)),
    loopDelay: { p99Ms: median(v.loopDelays.map((d) => d?.p99 ?? NaN)), maxMs: Math.max(...v.loopDelays.map((d) => d?.max ?? NaN)) },
  });
  const on = figuresOf(onThread);
  const off = figuresOf(inThread);
  const throughputRatio = median(onThread.runs.map((run, i) => perSecond(run) / perSecond(inThread.runs[i]!)));
  const line =
    `embedded engine on its own thread vs on the serving thread: ${throughputRatio.toFixed(2)}× orders a second (median of ${ROUNDS} same-round ratio(s)); ` +
    `p50 ${on.p50Ms} vs ${off.p50Ms} ms, p99 ${on.p99Ms} vs ${off.p99Ms} ms; server CPU per order ${on.serverCpuMsPerOrder.toFixed(3)} vs ${off.serverCpuMsPerOrder.toFixed(3)} ms; ` +
    `event-loop delay p99 ${on.loopDelay.p99Ms} vs ${off.loopDelay.p99Ms} ms (max ${on.loopDelay.maxMs} vs ${off.loopDelay.maxMs} ms)`;
  return { line, figures: { onThread: { ...latency(onThread), ...on }, inThread: { ...latency(inThread), ...off }, throughputRatio } };
}

function headlineOf(orders: Record<string, number>, inserts: Record<string, number>): Headline {
  const pct = (f: Record<string, number>) => ({ p50: f.p50Ms!, p95: f.p95Ms!, p99: f.p99Ms! });
  return {
    subject: 'durable orders (risk, paper fill, group commit)',
    reference: 'single-row INSERT transactions, same database and concurrency',
    throughput: { unit: 'per second', value: orders.perSecond!, reference: inserts.perSecond! },
    latencyMs: { value: pct(orders), reference: pct(inserts) },
  };
}
