/**
 * Resident memory of the embedded default (`tachyon start`: PGlite in a data directory, in-process
 * cache and bus) against the brief's 512 MB per instance, beside references measured in the same
 * run: a bare node:http process, and one holding only an empty PGlite opened the same way.
 *
 * The platform runs twice on one data directory: the first start (initdb, migrations, demo users,
 * two days of history seeded in the background), sampled while it loads and again once the history
 * is loaded (the state an idle demo stays in), and a restart (reopen). Each is sampled idle, then
 * under a light load (autocannon on GET /api/instruments). The generator runs in this process and
 * shares the machine's two cores with the server.
 *
 * The memory alert fires at 80% of the budget (TACHYON_MEMORY_LIMIT_MB): the bench prints the
 * smallest budget (a multiple of 64 MiB) that keeps the highest tachyon sample under 80% with 10%
 * of headroom, beside the configured default, so the default follows a measurement.
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config/config.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const IDLE_S = Number(process.env.BENCH_IDLE ?? 10);
const LOAD_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SAMPLE_MS = 200;
const MiB = 2 ** 20;
/** The configured default budget (what an instance without TACHYON_MEMORY_LIMIT_MB measures against). */
const BUDGET_MIB = loadConfig({}).observability.memoryLimitBytes / MiB;
const ALERT_RATIO = 0.8;
const HEADROOM = 1.1;
const LOADING_TIMEOUT_S = Number(process.env.BENCH_SEED_TIMEOUT_S ?? 1200);

interface Phase {
  p50MiB: number;
  maxMiB: number;
  samples: number;
}

interface Row {
  process: string;
  idle: Phase;
  load?: Phase & { requestsPerSecond: number; non2xx: number };
}

function summarize(samples: number[]): Phase {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50MiB: Math.round(at(0.5) / MiB), maxMiB: Math.round(at(1) / MiB), samples: sorted.length };
}

/** Samples the server's RSS every SAMPLE_MS while `during` runs. */
async function sampled<T>(server: Server, during: () => Promise<T>): Promise<{ phase: Phase; value: T }> {
  const samples = [server.rss()];
  const timer = setInterval(() => samples.push(server.rss()), SAMPLE_MS);
  try {
    const value = await during();
    samples.push(server.rss());
    return { phase: summarize(samples), value };
  } finally {
    clearInterval(timer);
  }
}

const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));

async function measure(name: string, server: Server, path?: string, headers: Record<string, string> = {}): Promise<Row> {
  process.stderr.write(`${name}: idle ${IDLE_S}s${path ? `, then ${LOAD_S}s of GET ${path} at ${CONNECTIONS} connections` : ''}…\n`);
  const idle = await sampled(server, () => sleep(IDLE_S));
  if (!path) return { process: name, idle: idle.phase };
  const load = await sampled(server, () => autocannon({ url: server.url + path, connections: CONNECTIONS, duration: LOAD_S, headers }));
  const row = { process: name, idle: idle.phase, load: { ...load.phase, requestsPerSecond: Math.round(load.value.requests.average), non2xx: load.value.non2xx + load.value.errors } };
  // Each row as it is measured: a long first start on a busy machine leaves partial results at least.
  process.stderr.write(`${JSON.stringify(row)} (load average ${loadavg()[0]!.toFixed(1)})\n`);
  return row;
}

const ROUTE = '/api/instruments?limit=50';

/** Waits (sampling nothing) until the server's background history load is over; returns the seconds waited. */
async function historyLoaded(server: Server): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await fetch(`${server.url}/api/health/detailed`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
    const { history } = (await res.json()) as { history?: { state: string; percent: number } };
    // A 503 (a dependency check that timed out on a busy machine) carries no history: ask again.
    if (!history) {
      await sleep(1);
      continue;
    }
    if (history.state !== 'loading' && history.state !== 'idle') return Math.round((Date.now() - started) / 1000);
    if (Date.now() - started > LOADING_TIMEOUT_S * 1000) throw new Error(`history still loading after ${LOADING_TIMEOUT_S} s (${history.percent}%)`);
    await sleep(2);
  }
}
const auth = { authorization: `Bearer ${BENCH_DEMO_TOKEN}` };
const rows: Row[] = [];

const bare = await startReference('bench/support/bare-server.ts');
rows.push(await measure('bare node:http (reference)', bare, '/'));
await bare.stop();

const holder = await startReference('bench/support/pglite-holder.ts');
rows.push(await measure('node:http + empty PGlite (reference)', holder));
await holder.stop();

// One data directory for both runs; the rate limit is off so the load is not answered by 429s.
const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-memory-'));
const env = { TACHYON_DATA_DIR: dataDir, TACHYON_RATE_LIMIT: '0' };
try {
  // startPlatform switches background seeding off by default; the first start here is the real one.
  const first = await startPlatform({ ...env, TACHYON_SEED_DAYS: '2' });
  rows.push(await measure('tachyon, first start (seeding history)', first, ROUTE, auth));
  const seconds = await historyLoaded(first);
  process.stderr.write(`history loaded after ${seconds} s more\n`);
  rows.push(await measure('tachyon, first start (history loaded)', first, ROUTE, auth));
  await first.stop();
  const again = await startPlatform(env);
  rows.push(await measure('tachyon, restart', again, ROUTE, auth));
  await again.stop();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(`\nRSS of the embedded default vs references (sampled every ${SAMPLE_MS} ms; load: ${CONNECTIONS} connections, ${LOAD_S}s, generator on the same 2 cores)\n`);
printTable(
  rows.map((r) => ({
    process: r.process,
    'idle p50 MiB': r.idle.p50MiB,
    'idle max MiB': r.idle.maxMiB,
    'load p50 MiB': r.load?.p50MiB ?? '-',
    'load max MiB': r.load?.maxMiB ?? '-',
    'load req/s': r.load?.requestsPerSecond ?? '-',
    'non-2xx': r.load?.non2xx ?? '-',
  })),
);
const worst = Math.max(...rows.filter((r) => r.process.startsWith('tachyon')).map((r) => Math.max(r.idle.maxMiB, r.load?.maxMiB ?? 0)));
const pglite = rows[1]!.idle.p50MiB;
const restart = rows.find((r) => r.process === 'tachyon, restart')!;
const budgetMiB = Math.ceil((worst * HEADROOM) / ALERT_RATIO / 64) * 64;
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`\ntachyon max ${worst} MiB: ${((worst / BUDGET_MIB) * 100).toFixed(0)}% of the configured ${BUDGET_MIB} MiB budget (the alert fires at ${ALERT_RATIO * 100}%); restart idle p50 is ${(restart.idle.p50MiB / pglite).toFixed(2)}× the empty-PGlite process`);
console.log(`budget the measurement supports: ${budgetMiB} MiB (max ${worst} MiB + ${Math.round((HEADROOM - 1) * 100)}% headroom under the ${ALERT_RATIO * 100}% alert line, in 64 MiB steps); load average ${load}`);
const file = writeResults('memory', { sampleMs: SAMPLE_MS, idleSeconds: IDLE_S, loadSeconds: LOAD_S, connections: CONNECTIONS, route: ROUTE, budgetMiB: BUDGET_MIB, supportedBudgetMiB: budgetMiB, maxMiB: worst, loadAverage: loadavg(), rows });
console.log(`results: ${file}`);
