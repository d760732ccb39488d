/**
 * The client side of bench:ws, in its own process: N typed clients (src/realtime/client.ts), each
 * subscribed to K random symbols, counting messages and recording tick-to-client latency from the
 * tick timestamp in every message (server and clients share this host's clock). Prints one JSON line.
 * Input (env WS_BENCH): { url, token, format, connections, perClient, symbols, warmupMs, measureMs, deflate }.
 */
import WebSocket from 'ws';
import * as hdr from 'hdr-histogram-js';
import { recordMs } from '../../src/kernel/histogram.ts';
import { createRandom } from '../../src/market-data/random.ts';
import { RealtimeClient, type WebSocketLike } from '../../src/realtime/client.ts';
import type { Format, QuoteData } from '../../src/realtime/protocol.ts';

interface Input {
  url: string;
  token: string;
  format: Format;
  connections: number;
  perClient: number;
  symbols: string[];
  warmupMs: number;
  measureMs: number;
  deflate: boolean;
}

const input = JSON.parse(process.env.WS_BENCH ?? '{}') as Input;
const CONNECT_WAVE = 50;
const CONNECT_DEADLINE_MS = 120_000;
// Flat 32-bit buckets (not the packed ones of kernel/histogram.ts): recorded ~400k times a second here.
const latency = hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000 });
let measuring = false;
let messages = 0;
let closes = 0;
const rng = createRandom(7);

function pick(): string[] {
  const chosen = new Set<string>();
  while (chosen.size < input.perClient) chosen.add(input.symbols[Math.floor(rng.next() * input.symbols.length)]!);
  return [...chosen].map((s) => `quotes:${s}`);
}

async function open(): Promise<RealtimeClient> {
  const client = new RealtimeClient({
    url: input.url,
    token: input.token,
    format: input.format,
    reconnect: false,
    createSocket: (url, protocols) => new WebSocket(url, protocols, { perMessageDeflate: input.deflate }) as unknown as WebSocketLike,
    onMessage: (message) => {
      if (!measuring) return;
      messages++;
      recordMs(latency, Date.now() - (message.data as QuoteData).ts);
    },
    onStateChange: (state) => void (state === 'closed' && closes++),
  });
  await client.connect();
  const { errors } = await client.subscribe(pick());
  if (errors.length > 0) throw new Error(`subscribe failed: ${errors[0]!.code} ${errors[0]!.message}`);
  return client;
}

// A connect that never settles (a socket lost during the handshake on an overloaded machine) must fail the run, not hang it.
const connecting = setTimeout(() => {
  console.error(`clients: ${clients.length} of ${input.connections} connected after ${CONNECT_DEADLINE_MS} ms; giving up`);
  process.exit(1);
}, CONNECT_DEADLINE_MS);
const clients: RealtimeClient[] = [];
for (let i = 0; i < input.connections; i += CONNECT_WAVE) {
  clients.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_WAVE, input.connections - i) }, open))));
}
clearTimeout(connecting);
await new Promise((resolve) => setTimeout(resolve, input.warmupMs));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
measuring = true;
process.stdout.write('measuring\n'); // the orchestrator samples the server's CPU from here
await new Promise((resolve) => setTimeout(resolve, input.measureMs));
measuring = false;
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const closedDuringRun = closes;
for (const client of clients) client.close();
const ms = (us: number) => Math.round(us) / 1000;
process.stdout.write(
  JSON.stringify({
    connected: clients.length,
    closedDuringRun,
    messages,
    messagesPerSec: Math.round(messages / seconds),
    latencyMs: { p50: ms(latency.getValueAtPercentile(50)), p90: ms(latency.getValueAtPercentile(90)), p99: ms(latency.getValueAtPercentile(99)), p999: ms(latency.getValueAtPercentile(99.9)), max: ms(latency.maxValue) },
    clientCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
  }) + '\n',
);
process.exit(0);
