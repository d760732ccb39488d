/**
 * GET /api/market-data/quotes/:symbol (a cached read: authenticated, validated, instrumented, every
 * default flag on) against a bare node:http server and a bare Fastify route answering a similar JSON
 * body, and the same platform with pieces of the edge hardening (issue #12) switched, all in one run:
 *
 * - `tachyon`: as shipped, with the rate limiter and load shedding running (the limit raised above
 *   what one client reaches here and the loop-delay threshold above what a shared machine's stalls
 *   reach, so both are checked on every request and never refuse one).
 * - `tachyon, full headers`: the same process with `http.compact-headers` off (helmet's document
 *   headers on every JSON answer, as before the flag).
 * - `tachyon, no limiter/shedding`: a second platform process without the rate limiter and load
 *   shedding (the bench's old configuration).
 * - `before` (BENCH_BEFORE_DIR=<checkout of an older commit>, node_modules linked): that commit's
 *   platform with its bench's old configuration (rate limit off).
 *
 * Every server is started once; the one being measured runs while the others are paused (SIGSTOP), so
 * idle platforms' timers do not compete. Rounds rotate the order and each round's figures are divided
 * by the bare node:http figure of the same round; medians of those ratios are printed, with the
 * server's CPU time per request (steadier than throughput on shared cores). autocannon (closed model,
 * keep-alive) runs in this process: on 2 cores generator and server share the CPU unless BENCH_PIN=1
 * pins the servers to core 0 and the generator to core 1 (taskset).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { cpuSeconds } from './ws/cpu.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_S = 2;
const PIN = process.env.BENCH_PIN === '1';
const BEFORE_DIR = process.env.BENCH_BEFORE_DIR;
const QUOTE = '/api/market-data/quotes/AAPL';
const COMPACT_HEADERS = 'http.compact-headers';
/** Two samples of the shedding monitor (1 s each) after a pause. */
const SETTLE_MS = 2_500;

interface Target {
  name: string;
  server: Server;
  path: string;
  headers: Record<string, string>;
  /** Flags set through the admin API before each of its rounds. */
  flags?: Record<string, boolean>;
}

interface Run {
  requestsPerSecond: number;
  /** Server CPU time per request (µs). */
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  rssMiB: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const pause = (server: Server) => process.kill(server.pid, 'SIGSTOP');
const resume = (server: Server) => process.kill(server.pid, 'SIGCONT');

function pin(pid: number, core: number): void {
  const result = spawnSync('taskset', ['-a', '-pc', String(core), String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset failed for pid ${pid}`);
}

async function started(server: Promise<Server>): Promise<Server> {
  const s = await server;
  if (PIN) pin(s.pid, 0);
  pause(s);
  return s;
}

async function setFlags(target: Target): Promise<void> {
  for (const [flag, enabled] of Object.entries(target.flags ?? {})) {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${target.server.url}/api/admin/flags/${flag}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled }),
      });
      if (res.ok) break;
      // A 503 while the resumed process still sheds its pause (a stall to its monitor): wait a sample.
      if (res.status !== 503 || attempt >= 20) throw new Error(`PUT flag ${flag}: ${res.status} ${await res.text()}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function measure(target: Target, duration: number): Promise<Run> {
  resume(target.server);
  try {
    // Load shedding's monitor saw the pause as one long stall: its next samples must pass it first.
    if (target.path === QUOTE) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    await setFlags(target);
    const url = target.server.url + target.path;
    // A short load first: the paused process's timers catch up and its connections warm.
    await autocannon({ url, connections: CONNECTIONS, duration: 1, headers: target.headers });
    const cpuBefore = cpuSeconds(target.server.pid);
    const result = await autocannon({ url, connections: CONNECTIONS, duration, headers: target.headers });
    const cpuUs = (1e6 * (cpuSeconds(target.server.pid) - cpuBefore)) / Math.max(1, result.requests.total);
    return {
      requestsPerSecond: Math.round(result.requests.average),
      cpuUs: Math.round(cpuUs * 10) / 10,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      p999Ms: result.latency.p99_9,
      errors: result.errors + result.non2xx,
      rssMiB: Math.round(target.server.rss() / 2 ** 20),
    };
  } finally {
    pause(target.server);
  }
}

if (PIN) pin(process.pid, 1);
const loadBefore = loadavg()[0]!;
const servers: Server[] = [];
const track = async (server: Promise<Server>) => {
  const s = await started(server);
  servers.push(s);
  return s;
};
const trader = { authorization: `Bearer ${BENCH_DEMO_TOKEN}` };
const runs = new Map<string, Run[]>();
const ratios = new Map<string, { throughput: number[]; cpu: number[] }>();
let targets: Target[] = [];
try {
  process.stderr.write('starting servers…\n');
  const bare = await track(startReference('bench/support/bare-server.ts'));
  const bareFastify = await track(startReference('bench/support/bare-fastify.ts'));
  const hardened = await track(startPlatform({ TACHYON_RATE_LIMIT: '1000000', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '60000' }));
  const unhardened = await track(startPlatform({ TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0' }));
  const before = BEFORE_DIR ? await track(startPlatform({ TACHYON_RATE_LIMIT: '0' }, [], BEFORE_DIR)) : undefined;
  targets = [
    { name: 'bare node:http (reference)', server: bare, path: '/', headers: {} },
    { name: 'bare Fastify', server: bareFastify, path: '/', headers: {} },
    { name: 'tachyon', server: hardened, path: QUOTE, headers: trader, flags: { [COMPACT_HEADERS]: true } },
    { name: 'tachyon, full headers', server: hardened, path: QUOTE, headers: trader, flags: { [COMPACT_HEADERS]: false } },
    { name: 'tachyon, no limiter/shedding', server: unhardened, path: QUOTE, headers: trader, flags: { [COMPACT_HEADERS]: true } },
    ...(before ? [{ name: `before (${BEFORE_DIR})`, server: before, path: QUOTE, headers: trader }] : []),
  ];
  const reference = targets[0]!;
  process.stderr.write(`warm-up ${WARMUP_S}s per target, then ${ROUNDS} rotating rounds of ${DURATION_S}s per target at ${CONNECTIONS} connections…\n`);
  for (const target of targets) await measure(target, WARMUP_S);
  for (let round = 0; round < ROUNDS; round++) {
    const results = new Map<string, Run>();
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(round + i) % targets.length]!;
      const run = await measure(target, DURATION_S);
      results.set(target.name, run);
      runs.set(target.name, [...(runs.get(target.name) ?? []), run]);
    }
    const ref = results.get(reference.name)!;
    for (const [name, run] of results) {
      const r = ratios.get(name) ?? { throughput: [], cpu: [] };
      r.throughput.push(run.requestsPerSecond / ref.requestsPerSecond);
      r.cpu.push(run.cpuUs / ref.cpuUs);
      ratios.set(name, r);
    }
  }
} finally {
  for (const server of servers) {
    try {
      resume(server);
    } catch {
      // already gone
    }
  }
  await Promise.all(servers.map((s) => s.stop()));
}

const summary = targets.map((t) => {
  const r = runs.get(t.name)!;
  const ratio = ratios.get(t.name)!;
  return {
    target: t.name,
    requestsPerSecond: median(r.map((x) => x.requestsPerSecond)),
    cpuUsPerRequest: median(r.map((x) => x.cpuUs)),
    p50Ms: median(r.map((x) => x.p50Ms)),
    p99Ms: median(r.map((x) => x.p99Ms)),
    p999Ms: median(r.map((x) => x.p999Ms)),
    errors: r.reduce((sum, x) => sum + x.errors, 0),
    rssMiB: median(r.map((x) => x.rssMiB)),
    throughputVsBare: median(ratio.throughput),
    cpuVsBare: median(ratio.cpu),
    rounds: r.map((x) => x.requestsPerSecond),
  };
});
const byName = (name: string) => summary.find((s) => s.target === name)!;
const loadAfter = loadavg()[0]!;

console.log(
  `\nGET quote: Tachyon vs bare servers (${CONNECTIONS} connections, median of ${ROUNDS} rotating rounds of ${DURATION_S}s; ${PIN ? 'servers on core 0, generator on core 1' : 'generator and server share the 2 cores'}; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)})\n`,
);
printTable(
  summary.map((s) => ({
    target: s.target,
    'req/s': s.requestsPerSecond,
    'vs bare': `${(s.throughputVsBare * 100).toFixed(1)}%`,
    'CPU µs/req': s.cpuUsPerRequest,
    'CPU vs bare': `${s.cpuVsBare.toFixed(2)}×`,
    'p50 ms': s.p50Ms,
    'p99 ms': s.p99Ms,
    'p99.9 ms': s.p999Ms,
    errors: s.errors,
    'rss MiB': s.rssMiB,
    'rounds req/s': s.rounds.join(' '),
  })),
);

/** Cost of `a` over `b` in percent: throughput lost and CPU per request added (medians of same-round ratios). */
function cost(a: string, b: string): { throughputPercent: number; cpuPercent: number } {
  const ra = ratios.get(a)!;
  const rb = ratios.get(b)!;
  const throughput = median(ra.throughput.map((x, i) => x / rb.throughput[i]!));
  const cpu = median(ra.cpu.map((x, i) => x / rb.cpu[i]!));
  return { throughputPercent: Math.round((1 - throughput) * 1000) / 10, cpuPercent: Math.round((cpu - 1) * 1000) / 10 };
}
const tachyon = byName('tachyon');
const costs = {
  fullHeadersOverCompact: cost('tachyon, full headers', 'tachyon'),
  limiterAndShedding: cost('tachyon', 'tachyon, no limiter/shedding'),
};
console.log(`\ncached read: ${(tachyon.throughputVsBare * 100).toFixed(1)}% of bare node:http (target ≥ 70%), ${((tachyon.throughputVsBare / byName('bare Fastify').throughputVsBare) * 100).toFixed(1)}% of bare Fastify`);
console.log(`helmet's full set on JSON instead of the compact set: ${costs.fullHeadersOverCompact.throughputPercent}% throughput, ${costs.fullHeadersOverCompact.cpuPercent}% CPU per request`);
console.log(`rate limiter + load shedding: ${costs.limiterAndShedding.throughputPercent}% throughput, ${costs.limiterAndShedding.cpuPercent}% CPU per request (target < 2%)`);
if (BEFORE_DIR) {
  const vsBefore = cost('tachyon, no limiter/shedding', `before (${BEFORE_DIR})`);
  console.log(`this checkout vs ${BEFORE_DIR}, both without limiter/shedding: ${-vsBefore.throughputPercent}% throughput, ${vsBefore.cpuPercent}% CPU per request`);
}
console.log('(single rounds on shared cores vary by ±15%: compare the medians of same-round ratios, and CPU per request)');
const file = writeResults('http', { connections: CONNECTIONS, durationSeconds: DURATION_S, rounds: ROUNDS, pinned: PIN, loadAverage: { before: loadBefore, after: loadAfter }, summary, costs, runs: Object.fromEntries(runs) });
console.log(`results: ${file}`);
