/**
 * GET /api/market-data/quotes/:symbol (a cached read: authenticated, validated, instrumented, every
 * default flag on) against a bare node:http server and a bare Fastify route answering a similar JSON
 * body, and the platform in configurations that isolate the fast lane and the edge hardening (#12):
 *
 * - `bare node:http in tachyon's process`: the reference's server preloaded into a `tachyon` instance
 *   (support/bare-server.mjs, preloaded) on a port of its own: what the platform's process (its heap, threads,
 *   timers and the feedback node's shared internals collected there) costs any handler; the lane's own
 *   cost is the rest of the distance between it and `tachyon`.
 * - `tachyon`: as shipped: the fast lane (`http.fast-lane`) on, the rate limiter and load shedding
 *   running (the limit raised above what one client reaches here and the loop-delay threshold above
 *   what a shared machine's stalls reach, so both are checked on every request and never refuse one;
 *   the client stays below half its budget, so its answers carry no limit headers: rate-limit.ts).
 * - `tachyon, no limiter/shedding`: the same without the rate limiter and load shedding.
 * - `tachyon, fast lane off` and `tachyon, fast lane off, no limiter/shedding`: the same two through
 *   Fastify's router and hooks.
 * - `tachyon, glibc malloc default`: `tachyon` with glibc's dynamic mmap threshold
 *   (TACHYON_MALLOC_MMAP_THRESHOLD=glibc) instead of the 32 KiB one the embedded default fixes
 *   (src/kernel/malloc-tuning.ts): what that memory saver costs on the hot path.
 * - `tachyon, 16 MiB semi-spaces`: `tachyon` with V8's default young generation (`--max-semi-space-size=16`, so
 *   32 MiB resident once grown) instead of the 4 MiB semi-spaces `npm start` gives it (SERVER_NODE_OPTIONS): what that
 *   memory saver costs on the hot path.
 * - `tachyon, V8's 4 polymorphic maps`: `tachyon` with V8's default `--max-valid-polymorphic-map-count=4`
 *   instead of the 16 `npm start` gives it: what keeping more shapes in node's shared inline caches is worth.
 * - `tachyon, tick shapes not kept`: `tachyon` with TACHYON_KEEP_TICK_SHAPES=off, so that a full collection
 *   while its tick queue is empty leaves node's nextTick megamorphic (src/kernel/tick-shapes.ts): what
 *   holding one tick object is worth.
 * - `bare node:http, npm start's options`: the reference started with `npm start`'s node options, so the
 *   options' effect on a bare server is seen beside their effect on the platform.
 * - `tachyon, simulated feed off`: `tachyon` with TACHYON_TICK_RATE=0: what the demo feed (2,000 ticks/s
 *   by default, with its quote snapshots and bars on the engine's thread) takes from the read path.
 * - `tachyon, fast lane off, full headers` (BENCH_FULL_HEADERS=1): `http.compact-headers` off too.
 * - `before` (BENCH_BEFORE_DIR=<checkout of an older commit>, node_modules linked): that commit's
 *   platform with the configuration of `tachyon` (flags it does not know are ignored).
 *
 * Every variant is its own process started with its configuration (TACHYON_FLAGS and environment; no
 * flag is switched during the run), so no variant carries another's history. The one being measured
 * runs while the others are paused (SIGSTOP), so idle platforms' timers do not compete. Rounds rotate
 * the order and each round's figures are divided by the bare node:http figure of the same round;
 * medians of those ratios are printed, with the server's CPU time per request (steadier than
 * throughput on shared cores). The generator is autocannon (closed model, keep-alive) in this
 * process, or wrk with BENCH_WRK=1; on 2 cores generator and server share the CPU unless BENCH_PIN=1
 * pins the servers to core 0 and the generator to core 1 (taskset). BENCH_PORT_BASE: ports of one's own.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SERVER_NODE_OPTIONS } from '../src/kernel/node-options.ts';
import { BENCH_DEMO_TOKEN, BENCH_QUOTE_PATH, LIMITS_OUT_OF_REACH_ENV, cpuSecondsOf, freePort, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_S = 2;
/** V8's default young generation, measured beside `npm start`'s 4 MiB cap (which saves ~24 MiB of RSS: docs/benchmarks.md, Memory). */
const DEFAULT_SEMI_SPACES = '--max-semi-space-size=16';
/** V8's default inline-cache polymorphism, measured beside `npm start`'s 16 maps. */
const DEFAULT_POLYMORPHISM = '--max-valid-polymorphic-map-count=4';
const PIN = process.env.BENCH_PIN === '1';
const WRK = process.env.BENCH_WRK === '1';
const FULL_HEADERS = process.env.BENCH_FULL_HEADERS === '1';
const BEFORE_DIR = process.env.BENCH_BEFORE_DIR;
const QUOTE = BENCH_QUOTE_PATH;
const REFERENCE = 'bare node:http (reference)';
const IN_PROCESS = "bare node:http in tachyon's process";
/** BENCH_ONLY='bare Fastify|tachyon, fast lane off': only these rows (with the reference and `tachyon`), for more rounds in the same time. */
const ONLY = process.env.BENCH_ONLY?.split('|');
/** Two samples of the shedding monitor (1 s each) after a pause. */
const SETTLE_MS = 2_500;

interface Target {
  name: string;
  server: Server;
  /** Where to send requests when not the server's own URL (a server preloaded into another process). */
  base?: string;
  path: string;
  headers: Record<string, string>;
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

interface Load {
  requestsPerSecond: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
}

async function autocannonLoad(url: string, headers: Record<string, string>, duration: number): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    errors: result.errors + result.non2xx,
  };
}

const run = promisify(execFile);
/** wrk's latency unit to ms. */
const MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000 };

/** wrk (one thread, keep-alive), on core 1 when pinned; its --latency distribution gives p50 and p99 (no p99.9). */
async function wrkLoad(url: string, headers: Record<string, string>, duration: number): Promise<Load> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${duration}s`, '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const { stdout } = await (PIN ? run('taskset', ['-c', '1', 'wrk', ...args]) : run('wrk', args));
  const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? NaN);
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
    return m ? Number(m[1]) * MS[m[2]!]! : NaN;
  };
  const total = number(/(\d+) requests in/);
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    total,
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    p999Ms: NaN,
    errors: (Number.isNaN(non2xx) ? 0 : non2xx) + (socketErrors ? socketErrors.slice(1).reduce((sum, x) => sum + Number(x), 0) : 0),
  };
}

const load = WRK ? wrkLoad : autocannonLoad;

async function measure(target: Target, duration: number): Promise<Run> {
  resume(target.server);
  try {
    // Load shedding's monitor saw the pause as one long stall, and the feed catches up a second of ticks:
    // a platform's next samples must pass both first.
    if (target.path === QUOTE || target.base) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const url = (target.base ?? target.server.url) + target.path;
    // A short load first: the paused process's timers catch up and its connections warm.
    await load(url, target.headers, 1);
    const cpuBefore = cpuSecondsOf(target.server.pid);
    const result = await load(url, target.headers, duration);
    const cpuUs = (1e6 * (cpuSecondsOf(target.server.pid) - cpuBefore)) / Math.max(1, result.total);
    return {
      requestsPerSecond: Math.round(result.requestsPerSecond),
      cpuUs: Math.round(cpuUs * 10) / 10,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      p999Ms: result.p999Ms,
      errors: result.errors,
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
const targets: Target[] = [];
try {
  process.stderr.write('starting servers…\n');
  const hardening = LIMITS_OUT_OF_REACH_ENV;
  const noHardening = { TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0' };
  const laneOff = { TACHYON_FLAGS: 'http.fast-lane=off' };
  const reference = (name: string, file: string, nodeArgs: string[] = []) => ({ name, start: async (): Promise<Target> => ({ name, server: await track(startReference(file, {}, nodeArgs)), path: '/', headers: {} }) });
  const platform = (name: string, env: Record<string, string>, cwd?: string, nodeArgs: string[] = []) => ({ name, start: async (): Promise<Target> => ({ name, server: await track(startPlatform(env, nodeArgs, cwd)), path: QUOTE, headers: trader }) });
  const specs = [
    reference(REFERENCE, 'bench/support/bare-server.mjs'),
    reference('bare Fastify', 'bench/support/bare-fastify.ts'),
    reference("bare node:http, npm start's options", 'bench/support/bare-server.mjs', [...SERVER_NODE_OPTIONS]),
    {
      name: IN_PROCESS,
      start: async (): Promise<Target> => {
        const port = await freePort();
        const server = await track(startPlatform({ ...hardening, BENCH_IN_PROCESS_PORT: String(port) }, ['--import', fileURLToPath(new URL('support/bare-server.mjs', import.meta.url))]));
        return { name: IN_PROCESS, server, base: `http://127.0.0.1:${port}`, path: '/', headers: {} };
      },
    },
    platform('tachyon', hardening),
    platform('tachyon, no limiter/shedding', noHardening),
    platform('tachyon, glibc malloc default', { ...hardening, TACHYON_MALLOC_MMAP_THRESHOLD: 'glibc' }),
    platform('tachyon, 16 MiB semi-spaces', hardening, undefined, [DEFAULT_SEMI_SPACES]),
    platform("tachyon, V8's 4 polymorphic maps", hardening, undefined, [DEFAULT_POLYMORPHISM]),
    platform('tachyon, tick shapes not kept', { ...hardening, TACHYON_KEEP_TICK_SHAPES: 'off' }),
    platform('tachyon, simulated feed off', { ...hardening, TACHYON_TICK_RATE: '0' }),
    platform('tachyon, fast lane off', { ...hardening, ...laneOff }),
    platform('tachyon, fast lane off, no limiter/shedding', { ...noHardening, ...laneOff }),
    ...(FULL_HEADERS ? [platform('tachyon, fast lane off, full headers', { ...hardening, TACHYON_FLAGS: 'http.fast-lane=off,http.compact-headers=off' })] : []),
    ...(BEFORE_DIR ? [platform(`before (${BEFORE_DIR})`, hardening, BEFORE_DIR)] : []),
  ];
  const unknown = ONLY?.filter((name) => !specs.some((spec) => spec.name === name));
  if (unknown?.length) throw new Error(`BENCH_ONLY names no row: ${unknown.join(', ')} (rows: ${specs.map((spec) => spec.name).join(' | ')})`);
  for (const spec of specs) if (!ONLY || spec.name === REFERENCE || spec.name === 'tachyon' || ONLY.includes(spec.name)) targets.push(await spec.start());
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
    const ref = results.get(REFERENCE)!;
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
const byName = (name: string) => summary.find((s) => s.target === name);
const loadAfter = loadavg()[0]!;

console.log(
  `\nGET quote: Tachyon vs bare servers (${WRK ? 'wrk' : 'autocannon'}, ${CONNECTIONS} connections, median of ${ROUNDS} rotating rounds of ${DURATION_S}s; ${PIN ? 'servers on core 0, generator on core 1' : 'generator and server share the 2 cores'}; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)})\n`,
);
/** Latency as the generator gave it, to 0.01 ms ('-': not given, wrk's p99.9). */
const ms = (value: number) => (Number.isNaN(value) ? '-' : Math.round(value * 100) / 100);
printTable(
  summary.map((s) => ({
    target: s.target,
    'req/s': s.requestsPerSecond,
    'vs bare': `${(s.throughputVsBare * 100).toFixed(1)}%`,
    'CPU µs/req': s.cpuUsPerRequest,
    'CPU vs bare': `${s.cpuVsBare.toFixed(2)}×`,
    'p50 ms': ms(s.p50Ms),
    'p99 ms': ms(s.p99Ms),
    'p99.9 ms': ms(s.p999Ms),
    errors: s.errors,
    'rss MiB': s.rssMiB,
    'rounds req/s': s.rounds.join(' '),
  })),
);

/** Cost of `a` over `b` in percent: throughput lost and CPU per request added (medians of same-round ratios); undefined for a row not measured (BENCH_ONLY). */
function cost(a: string, b: string): { throughputPercent: number; cpuPercent: number } | undefined {
  const ra = ratios.get(a);
  const rb = ratios.get(b);
  if (!ra || !rb) return undefined;
  const throughput = median(ra.throughput.map((x, i) => x / rb.throughput[i]!));
  const cpu = median(ra.cpu.map((x, i) => x / rb.cpu[i]!));
  return { throughputPercent: Math.round((1 - throughput) * 1000) / 10, cpuPercent: Math.round((cpu - 1) * 1000) / 10 };
}
const tachyon = byName('tachyon')!;
const bare = byName(REFERENCE)!;
const costs = {
  limiterAndShedding: cost('tachyon', 'tachyon, no limiter/shedding'),
  limiterAndSheddingWithoutFastLane: cost('tachyon, fast lane off', 'tachyon, fast lane off, no limiter/shedding'),
  fastLaneOff: cost('tachyon, fast lane off', 'tachyon'),
  mallocThreshold: cost('tachyon', 'tachyon, glibc malloc default'),
  smallSemiSpaces: cost('tachyon', 'tachyon, 16 MiB semi-spaces'),
  simulatedFeed: cost('tachyon', 'tachyon, simulated feed off'),
  defaultPolymorphism: cost("tachyon, V8's 4 polymorphic maps", 'tachyon'),
  tickShapesNotKept: cost('tachyon, tick shapes not kept', 'tachyon'),
  optionsOnBare: cost(REFERENCE, "bare node:http, npm start's options"),
  ...(FULL_HEADERS ? { fullHeadersOverCompact: cost('tachyon, fast lane off, full headers', 'tachyon, fast lane off') } : {}),
  ...(BEFORE_DIR ? { before: cost(`before (${BEFORE_DIR})`, 'tachyon') } : {}),
};
const pct = (c: { throughputPercent: number; cpuPercent: number } | undefined) => (c ? `${c.throughputPercent}% throughput, ${c.cpuPercent}% CPU per request` : 'not measured (BENCH_ONLY)');
/** A row's share of bare node:http, and `tachyon`'s share of it. */
const share = (name: string) => {
  const row = byName(name);
  return row ? `${(row.throughputVsBare * 100).toFixed(1)}%` : 'not measured';
};
const tachyonOf = (name: string) => {
  const row = byName(name);
  return row ? `${((tachyon.throughputVsBare / row.throughputVsBare) * 100).toFixed(1)}%` : 'not measured';
};
console.log(`\ncached read: ${share('tachyon')} of bare node:http (target ≥ 70%), ${tachyonOf('bare Fastify')} of bare Fastify; ${tachyon.cpuUsPerRequest} vs ${bare.cpuUsPerRequest} CPU µs/request`);
console.log(`bare node:http's server inside tachyon's process: ${share(IN_PROCESS)} of it standalone (what the process costs any handler); tachyon is ${tachyonOf(IN_PROCESS)} of it (the lane's own cost)`);
console.log(`without the fast lane (through Fastify's router and hooks): ${share('tachyon, fast lane off')} of bare node:http; the lane off costs ${pct(costs.fastLaneOff)}`);
console.log(`rate limiter + load shedding: ${pct(costs.limiterAndShedding)} (target < 2%); through Fastify: ${pct(costs.limiterAndSheddingWithoutFastLane)}`);
console.log(`glibc's mmap threshold fixed (the embedded default) against glibc's dynamic one: ${pct(costs.mallocThreshold)}`);
console.log(`V8's young generation capped (npm start's --max-semi-space-size=4) against its default (${DEFAULT_SEMI_SPACES}): ${pct(costs.smallSemiSpaces)}`);
console.log(`V8's default 4 polymorphic maps against npm start's 16 (--max-valid-polymorphic-map-count): ${pct(costs.defaultPolymorphism)}; on bare node:http, V8's defaults against npm start's options: ${pct(costs.optionsOnBare)}`);
console.log(`nextTick's shapes not kept (TACHYON_KEEP_TICK_SHAPES=off) against kept: ${pct(costs.tickShapesNotKept)}`);
console.log(`the simulated feed (TACHYON_TICK_RATE, 2,000 ticks/s by default) against none: ${pct(costs.simulatedFeed)}`);
if (FULL_HEADERS) console.log(`helmet's full set on JSON instead of the compact set: ${pct(costs.fullHeadersOverCompact)}`);
if (BEFORE_DIR) console.log(`this checkout vs ${BEFORE_DIR}, both with limiter/shedding: ${pct(costs.before)} (positive: the older one costs more)`);
console.log('(single rounds on shared cores vary by ±15%: compare the medians of same-round ratios, and CPU per request)');
const headline: Headline = {
  subject: 'tachyon cached quote read',
  reference: 'bare node:http (same run)',
  throughput: { unit: 'req/s', value: tachyon.requestsPerSecond, reference: bare.requestsPerSecond },
  latencyMs: { value: { p50: tachyon.p50Ms, p99: tachyon.p99Ms }, reference: { p50: bare.p50Ms, p99: bare.p99Ms } },
};
const file = writeResults('http', { generator: WRK ? 'wrk' : 'autocannon', connections: CONNECTIONS, durationSeconds: DURATION_S, rounds: ROUNDS, pinned: PIN, loadAverage: { before: loadBefore, after: loadAfter }, summary, costs, runs: Object.fromEntries(runs), headline });
console.log(`results: ${file}`);
