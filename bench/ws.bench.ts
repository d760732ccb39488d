/**
 * bench:ws — the WebSocket gateway under the issue's load: 1,000 connections × 50 symbols while the
 * feed produces 20,000 ticks/s over 2,000 symbols, clients in a separate process. Runs:
 *   1. the platform (`tachyon start`, embedded PGlite, no history seeding), frames uncompressed;
 *   2. the reference: a raw `ws` server fed by the same MarketFeed, with the same conflation and
 *      batched frames, to the same client process;
 *   3. with WS_DEFLATE_RUN=1, the platform again with permessage-deflate negotiated, for its CPU cost;
 *   4. with WS_DB_THREAD_RUN=1, a second platform whose embedded engine runs on the serving thread
 *      (TACHYON_DB_THREAD=false): what the engine's own thread spares the gateway's event loop (the
 *      feed's quote snapshots are written while the clients are served).
 * Plus a zlib micro-measurement of deflate per frame size. Prints delivered messages/s, tick-to-client
 * p50/p99/p99.9 (client clock minus the tick timestamp in each message; one host, one clock), the
 * servers' event-loop delay, CPU and RSS, and ratios to the reference. WS_PROFILE_DIR=dir writes a
 * --cpu-prof of each server and client process there. WS_CONNECTIONS, WS_PER_CLIENT, WS_TICK_RATE,
 * WS_MEASURE_MS and WS_FORMAT=json change the load. Writes bench/results/ws.json. Server, clients and everything
 * else share this machine's cores.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { deflateRawSync } from 'node:zlib';
import { buildUniverse } from '../src/market-data/universe.ts';
import { msgpackCodec, jsonCodec, Outgoing } from '../src/realtime/codec.ts';
import type { Format } from '../src/realtime/protocol.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, cpuSecondsOf, startPlatform, startReference, type Server } from './support/processes.ts';
import { loopDelayProbe, type LoopDelay, type LoopDelayProbe } from './support/loop-delay.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const CONNECTIONS = Number(process.env.WS_CONNECTIONS ?? 1000);
const PER_CLIENT = Number(process.env.WS_PER_CLIENT ?? 50);
const INSTRUMENTS = 2000;
const TICK_RATE = Number(process.env.WS_TICK_RATE ?? 20_000);
const FLUSH_MS = Number(process.env.WS_FLUSH_MS ?? 20);
const WARMUP_MS = 3_000;
const MEASURE_MS = Number(process.env.WS_MEASURE_MS ?? 10_000);
const FORMAT = (process.env.WS_FORMAT ?? 'msgpack') as Format;
const DEFLATE_THRESHOLD = 256;
const DEFLATE_RUN = process.env.WS_DEFLATE_RUN === '1';
const DB_THREAD_RUN = process.env.WS_DB_THREAD_RUN === '1';
const PROFILE_DIR = process.env.WS_PROFILE_DIR;
const SEED = 42;

const symbols = buildUniverse(INSTRUMENTS, SEED).map((i) => i.symbol);

interface ClientResult {
  connected: number;
  closedDuringRun: number;
  messages: number;
  messagesPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  clientCpuPercent: number;
}

interface Run extends ClientResult {
  name: string;
  serverCpuPercent: number;
  serverRssMiB: number;
  /** The server's event-loop delay over the measured window (ms). */
  serverLoopDelayMs: LoopDelay | undefined;
  /** The platform gateway's tick-to-send (tick timestamp to frame handed to the socket), since start. */
  serverTickToSendMs: { p50: number; p99: number } | undefined;
}

/** A benchmarked server's event-loop delay probe, and a CPU profile on request. */
function serverArgs(): { args: string[]; env: Record<string, string>; probe: LoopDelayProbe } {
  const probe = loopDelayProbe();
  return { args: [...probe.args, ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])], env: probe.env, probe };
}

/** The gateway's own tick-to-send p50/p99 (ms, since start) from the platform's Prometheus metrics; undefined for the reference. */
async function serverTickToSend(server: Server): Promise<{ p50: number; p99: number } | undefined> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const text = await res.text();
  const value = (q: string) => Number(new RegExp(`^tachyon_websocket_tick_?to_?send_?ms_${q}\\s+(\\S+)`, 'im').exec(text)?.[1]);
  const summary = { p50: value('p50'), p99: value('p99') };
  return Number.isFinite(summary.p99) ? summary : undefined;
}

/** Runs the client process against a server; samples the server's CPU over the measured window. */
async function measure(name: string, server: Server, probe: LoopDelayProbe, deflate: boolean): Promise<Run> {
  const input = { url: server.url.replace('http', 'ws') + '/ws', token: BENCH_DEMO_TOKEN, format: FORMAT, connections: CONNECTIONS, perClient: PER_CLIENT, symbols, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, deflate };
  const child = spawn(process.execPath, [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), 'bin/run-ts.js', 'bench/ws/clients.ts'], { env: { ...process.env, WS_BENCH: JSON.stringify(input) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let cpu0 = 0;
  let t0 = 0;
  let cpu = 0;
  let seconds = 0;
  let result: ClientResult | undefined;
  let serverLoopDelayMs: LoopDelay | undefined;
  let serverTickToSendMs: { p50: number; p99: number } | undefined;
  let serverRss = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'measuring') {
      cpu0 = cpuSecondsOf(server.pid);
      t0 = performance.now();
      probe.restart(server.pid); // only the window counts
    } else if (line.startsWith('{')) {
      cpu = cpuSecondsOf(server.pid) - cpu0;
      seconds = (performance.now() - t0) / 1000;
      serverRss = server.rss();
      result = JSON.parse(line) as ClientResult;
      serverLoopDelayMs = await probe.read(server.pid);
      serverTickToSendMs = await serverTickToSend(server);
    }
  }
  if (!result) throw new Error(`${name}: the client process produced no result`);
  const run: Run = { name, ...result, serverCpuPercent: Math.round((cpu / seconds) * 100), serverRssMiB: Math.round(serverRss / 2 ** 20), serverLoopDelayMs, serverTickToSendMs };
  const l = run.latencyMs;
  console.log(`  ${name}: ${run.messagesPerSec.toLocaleString()} msgs/s, p50 ${l.p50} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms, server CPU ${run.serverCpuPercent}%, loop delay p99 ${serverLoopDelayMs?.p99 ?? '?'} ms`);
  return run;
}

/** zlib cost per batch frame at the gateway's settings (level 1, 4 KiB window, memLevel 4), without context takeover. */
function deflateCost(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const messagesPerFrame of [1, 5, 10, 25, 100]) {
    const messages = Array.from({ length: messagesPerFrame }, (_, i) => {
      const symbol = symbols[i * 17]!;
      const ts = Date.now();
      return new Outgoing({ channel: `quotes:${symbol}`, seq: 1000 + i, data: { id: i, symbol, bid: 1_234_500 + i, ask: 1_234_600 + i, last: 1_234_500 + i, size: 100, ts } }, ts);
    });
    for (const codec of [msgpackCodec, jsonCodec]) {
      const frame = codec.batch(messages);
      const bytes = Buffer.from(frame);
      const iterations = 20_000;
      let compressed = 0;
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) compressed = deflateRawSync(bytes, { level: 1, memLevel: 4, windowBits: 12 }).length;
      const usPerFrame = ((performance.now() - t0) * 1000) / iterations;
      rows.push({ format: codec.format, messagesPerFrame, bytes: bytes.length, compressedBytes: compressed, ratio: +(bytes.length / compressed).toFixed(2), usPerFrame: +usPerFrame.toFixed(1) });
    }
  }
  return rows;
}

console.log(`bench:ws — ${CONNECTIONS} connections × ${PER_CLIENT} symbols, ${TICK_RATE.toLocaleString()} ticks/s over ${INSTRUMENTS} symbols, ${FORMAT}, flush ${FLUSH_MS} ms`);
console.log('(server, client process and other engineers\' processes share this machine: figures are noisy; compare ratios)\n');

console.log('deflate cost per frame (zlib in-process):');
const deflate = deflateCost();
printTable(deflate as Record<string, string | number>[]);

const runs: Run[] = [];

/** `tachyon start` under the bench's feed and limits; `env` adds to them. */
async function startWsPlatform(probe: ReturnType<typeof serverArgs>, env: Record<string, string> = {}): Promise<Server> {
  return startPlatform(
    {
      ...probe.env,
      TACHYON_TICK_RATE: String(TICK_RATE),
      TACHYON_INSTRUMENTS: String(INSTRUMENTS),
      TACHYON_SEED: String(SEED),
      TACHYON_WS_FLUSH_MS: String(FLUSH_MS),
      TACHYON_WS_MAX_CONNECTIONS_PER_USER: String(CONNECTIONS * 2),
      // 1,000 connects in waves on a loaded machine can outlast the 5 s default; the reference has no such timeout.
      TACHYON_WS_AUTH_TIMEOUT_MS: '60000',
      // The steady state is measured: no first-start history seeding in the background.
      TACHYON_SEED_DAYS: '0',
      // Enabled on the server so one boot measures both; clients decide by negotiating it or not.
      TACHYON_WS_DEFLATE: String(DEFLATE_RUN),
      TACHYON_WS_DEFLATE_THRESHOLD: String(DEFLATE_THRESHOLD),
      ...env,
    },
    probe.args,
  );
}

console.log('\nplatform (tachyon start, embedded PGlite on its own thread):');
const platformProbe = serverArgs();
const platform = await startWsPlatform(platformProbe);
const platformIdleRssMiB = Math.round(platform.rss() / 2 ** 20);
console.log(`  RSS before any connection: ${platformIdleRssMiB} MiB`);
try {
  runs.push(await measure('platform', platform, platformProbe.probe, false));
  if (DEFLATE_RUN) runs.push(await measure('platform+deflate', platform, platformProbe.probe, true));
} finally {
  await platform.stop();
}
if (DB_THREAD_RUN) {
  console.log('\nplatform, embedded PGlite on the serving thread (TACHYON_DB_THREAD=false):');
  const probe = serverArgs();
  const inThread = await startWsPlatform(probe, { TACHYON_DB_THREAD: 'false' });
  try {
    runs.push(await measure('platform, engine on the serving thread', inThread, probe.probe, false));
  } finally {
    await inThread.stop();
  }
}
console.log('\nreference (raw ws, same feed, conflation and frames):');
const referenceProbe = serverArgs();
const reference = await startReference(
  'bench/ws/reference-server.ts',
  { ...referenceProbe.env, WS_INSTRUMENTS: String(INSTRUMENTS), WS_SEED: String(SEED), WS_TICK_RATE: String(TICK_RATE), WS_FLUSH_MS: String(FLUSH_MS) },
  referenceProbe.args,
);
try {
  runs.push(await measure('raw ws reference', reference, referenceProbe.probe, false));
} finally {
  await reference.stop();
}

console.log();
printTable(
  runs.map((r) => ({
    run: r.name,
    connected: r.connected,
    'msgs/s': r.messagesPerSec,
    'p50 ms': r.latencyMs.p50,
    'p99 ms': r.latencyMs.p99,
    'p99.9 ms': r.latencyMs.p999,
    'max ms': r.latencyMs.max,
    'loop delay p99 ms': r.serverLoopDelayMs?.p99 ?? -1,
    'loop delay max ms': r.serverLoopDelayMs?.max ?? -1,
    'tick-to-send p99 ms': r.serverTickToSendMs?.p99 ?? '-',
    'server CPU %': r.serverCpuPercent,
    'server RSS MiB': r.serverRssMiB,
    'client CPU %': r.clientCpuPercent,
    closed: r.closedDuringRun,
  })),
);
const ours = runs[0]!;
const ref = runs[runs.length - 1]!;
const ratios = {
  throughput: +(ours.messagesPerSec / ref.messagesPerSec).toFixed(2),
  p50: +(ours.latencyMs.p50 / ref.latencyMs.p50).toFixed(2),
  p99: +(ours.latencyMs.p99 / ref.latencyMs.p99).toFixed(2),
  p999: +(ours.latencyMs.p999 / ref.latencyMs.p999).toFixed(2),
  rss: +(ours.serverRssMiB / ref.serverRssMiB).toFixed(2),
  cpuPerMessage: +((ours.serverCpuPercent / ours.messagesPerSec) / (ref.serverCpuPercent / ref.messagesPerSec)).toFixed(2),
};
console.log(`\nplatform / reference: throughput ×${ratios.throughput}, p50 ×${ratios.p50}, p99 ×${ratios.p99}, p99.9 ×${ratios.p999}, RSS ×${ratios.rss}, server CPU per message ×${ratios.cpuPerMessage}`);
const inThread = runs.find((r) => r.name === 'platform, engine on the serving thread');
if (inThread) {
  const delay = (r: Run) => `loop delay p99 ${r.serverLoopDelayMs?.p99 ?? '?'} ms, max ${r.serverLoopDelayMs?.max ?? '?'} ms`;
  console.log(
    `engine on its own thread vs on the serving thread: ${delay(ours)} vs ${delay(inThread)}; tick-to-client p99 ${ours.latencyMs.p99} vs ${inThread.latencyMs.p99} ms; ` +
      `${ours.messagesPerSec.toLocaleString()} vs ${inThread.messagesPerSec.toLocaleString()} msgs/s; server CPU ${ours.serverCpuPercent}% vs ${inThread.serverCpuPercent}%`,
  );
}
const file = writeResults('ws', {
  setup: { connections: CONNECTIONS, symbolsPerClient: PER_CLIENT, instruments: INSTRUMENTS, tickRate: TICK_RATE, flushMs: FLUSH_MS, format: FORMAT, measureMs: MEASURE_MS, deflateThreshold: DEFLATE_THRESHOLD },
  platformIdleRssMiB,
  runs,
  ratios,
  deflatePerFrame: deflate,
  headline: {
    subject: `WebSocket market data, ${ours.name}`,
    reference: `${ref.name} (same run)`,
    throughput: { unit: 'messages/s', value: ours.messagesPerSec, reference: ref.messagesPerSec },
    latencyMs: { value: { p50: ours.latencyMs.p50, p99: ours.latencyMs.p99 }, reference: { p50: ref.latencyMs.p50, p99: ref.latencyMs.p99 } },
    figures: [{ name: 'server RSS', unit: 'MiB', better: 'lower', value: ours.serverRssMiB, reference: ref.serverRssMiB }],
  } satisfies Headline,
});
console.log(`wrote ${file}`);
