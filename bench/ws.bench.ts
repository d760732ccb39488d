/**
 * bench:ws — the WebSocket gateway under the load: 1,000 connections × 50 symbols while the
 * feed produces 20,000 ticks/s over 2,000 symbols, clients in a separate process. Runs:
 *   1. the platform (`tachyon start`, embedded PGlite), frames uncompressed;
 *   2. the same platform with permessage-deflate negotiated (threshold 256 B), for its CPU cost;
 *   3. the reference: a raw `ws` server broadcasting the same batched frames to the same clients.
 * Plus a zlib micro-measurement of deflate per frame size. Prints delivered messages/s, tick-to-client
 * p50/p99 (from the tick timestamp in each message), server CPU and RSS, and ratios to the reference.
 * Writes bench/results/ws.json. Server, clients and everything else share this machine's cores.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { deflateRawSync } from 'node:zlib';
import { buildUniverse } from '../src/market-data/universe.ts';
import { msgpackCodec, jsonCodec, Outgoing } from '../src/realtime/codec.ts';
import type { Format } from '../src/realtime/protocol.ts';
import { BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';
import { cpuSeconds } from './ws/cpu.ts';

const CONNECTIONS = Number(process.env.WS_CONNECTIONS ?? 1000);
const PER_CLIENT = 50;
const INSTRUMENTS = 2000;
const TICK_RATE = 20_000;
const FLUSH_MS = 20;
const WARMUP_MS = 3_000;
const MEASURE_MS = Number(process.env.WS_MEASURE_MS ?? 10_000);
const FORMAT = (process.env.WS_FORMAT ?? 'msgpack') as Format;
const DEFLATE_THRESHOLD = 256;

const symbols = buildUniverse(INSTRUMENTS, 42).map((i) => i.symbol);

interface ClientResult {
  connected: number;
  closedDuringRun: number;
  messages: number;
  messagesPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  clientCpuPercent: number;
}

interface Run extends ClientResult {
  name: string;
  serverCpuPercent: number;
  serverRssMiB: number;
}

/** Runs the client process against a server; samples the server's CPU over the measured window. */
async function measure(name: string, server: Server, deflate: boolean): Promise<Run> {
  const input = { url: server.url.replace('http', 'ws') + '/ws', token: BENCH_DEMO_TOKEN, format: FORMAT, connections: CONNECTIONS, perClient: PER_CLIENT, symbols, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, deflate };
  const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/ws/clients.ts'], { env: { ...process.env, WS_BENCH: JSON.stringify(input) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let cpu0 = 0;
  let t0 = 0;
  let cpu = 0;
  let seconds = 0;
  let result: ClientResult | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'measuring') {
      cpu0 = cpuSeconds(server.pid);
      t0 = performance.now();
    } else if (line.startsWith('{')) {
      cpu = cpuSeconds(server.pid) - cpu0;
      seconds = (performance.now() - t0) / 1000;
      result = JSON.parse(line) as ClientResult;
    }
  }
  if (!result) throw new Error(`${name}: the client process produced no result`);
  const run = { name, ...result, serverCpuPercent: Math.round((cpu / seconds) * 100), serverRssMiB: Math.round(server.rss() / 2 ** 20) };
  console.log(`  ${name}: ${run.messagesPerSec.toLocaleString()} msgs/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, server CPU ${run.serverCpuPercent}%`);
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
console.log('\nplatform (tachyon start, embedded PGlite):');
const platform = await startPlatform({
  TACHYON_TICK_RATE: String(TICK_RATE),
  TACHYON_INSTRUMENTS: String(INSTRUMENTS),
  TACHYON_WS_FLUSH_MS: String(FLUSH_MS),
  TACHYON_WS_MAX_CONNECTIONS_PER_USER: String(CONNECTIONS * 2),
  // Enabled on the server so one boot measures both; clients decide by negotiating it or not.
  TACHYON_WS_DEFLATE: 'true',
  TACHYON_WS_DEFLATE_THRESHOLD: String(DEFLATE_THRESHOLD),
});
const platformIdleRssMiB = Math.round(platform.rss() / 2 ** 20);
console.log(`  RSS before any connection: ${platformIdleRssMiB} MiB`);
try {
  runs.push(await measure('platform', platform, false));
  runs.push(await measure('platform+deflate', platform, true));
} finally {
  await platform.stop();
}
console.log('\nreference (raw ws, same frames):');
const reference = await startReference('bench/ws/reference-server.ts', { WS_SYMBOLS: symbols.join(','), WS_TICK_RATE: String(TICK_RATE), WS_FLUSH_MS: String(FLUSH_MS) });
try {
  runs.push(await measure('raw ws reference', reference, false));
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
    'max ms': r.latencyMs.max,
    'server CPU %': r.serverCpuPercent,
    'server RSS MiB': r.serverRssMiB,
    'client CPU %': r.clientCpuPercent,
    closed: r.closedDuringRun,
  })),
);
const [ours, , ref] = runs as [Run, Run, Run];
const ratios = {
  throughput: +(ours.messagesPerSec / ref.messagesPerSec).toFixed(2),
  p99: +(ours.latencyMs.p99 / ref.latencyMs.p99).toFixed(2),
  cpuPerMessage: +((ours.serverCpuPercent / ours.messagesPerSec) / (ref.serverCpuPercent / ref.messagesPerSec)).toFixed(2),
};
console.log(`\nplatform / reference: throughput ×${ratios.throughput}, p99 ×${ratios.p99}, server CPU per message ×${ratios.cpuPerMessage}`);
const file = writeResults('ws', {
  setup: { connections: CONNECTIONS, symbolsPerClient: PER_CLIENT, instruments: INSTRUMENTS, tickRate: TICK_RATE, flushMs: FLUSH_MS, format: FORMAT, measureMs: MEASURE_MS, deflateThreshold: DEFLATE_THRESHOLD },
  platformIdleRssMiB,
  runs,
  ratios,
  deflatePerFrame: deflate,
});
console.log(`wrote ${file}`);
