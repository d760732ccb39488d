/**
 * bench:stream — the durable event stream (issue 22), three measurements in one run:
 *  1. Engine choice: publish → consume latency (one message at a time) and throughput (a window of
 *     1,000 in flight) of raw Redis Streams (XADD / XREAD BLOCK) against NATS JetStream (publish with
 *     ack / ordered consumer; file and memory storage), same payload, same process.
 *  2. End to end: an order event from its commit on instance A to a WebSocket client on instance B,
 *     through the event stream, against a quote event published at the same moment on A and carried
 *     to B's client over the Redis pub/sub bridge (the path account events took before), p50/p99.
 *  3. Throughput: the platform's stream (batched append script: offsets, partition log, channel
 *     history) against redis-benchmark's pipelined XADD on the same server, in the same run.
 * Needs Redis at REDIS_URL (default 127.0.0.1:6379) and, for part 1, NATS with JetStream at NATS_URL.
 * Generator, servers and instances share this machine's cores: only same-run ratios mean anything.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import { connect, StorageType, type NatsConnection } from 'nats';
import pino from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.ts';
import { createHistogram, latencyStats, recordMs, type Histogram } from '../src/kernel/histogram.ts';
import { buildPlatform, type Platform } from '../src/platform.ts';
import { RealtimeClient, type WebSocketLike } from '../src/realtime/client.ts';
import { RedisEventStream } from '../src/stream/redis-stream.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';
const LATENCY_MESSAGES = Number(process.env.STREAM_LATENCY_MESSAGES ?? 2_000);
const THROUGHPUT_MESSAGES = Number(process.env.STREAM_THROUGHPUT_MESSAGES ?? 30_000);
const E2E_EVENTS = Number(process.env.STREAM_E2E_EVENTS ?? 600);
const WINDOW = 1_000;
const TOKEN = 'bench-stream-token-0123456789';
const run = randomBytes(4).toString('hex');
const prefix = `tachyon:bench-stream:${run}:`;
// An order event's size on the wire (REST order shape).
const payload = Buffer.from(JSON.stringify({ type: 'filled', order: { id: 123456, accountId: 1, symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10, filledQuantity: 10, averagePrice: 189.34, status: 'filled', timeInForce: 'day', createdAt: Date.now(), updatedAt: Date.now(), clientOrderId: 'bench-0001' } }));

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const summary = (h: Histogram) => {
  const s = latencyStats(h);
  return { count: s.count, p50: s.med, p99: s.p99, max: s.max };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Engine {
  name: string;
  /** Publishes one message; resolves when the engine acknowledged it. */
  publish(body: Buffer): Promise<unknown>;
  /** Starts consuming; calls back with each message body. */
  consume(onMessage: (body: Buffer) => void): Promise<void>;
  close(): Promise<void>;
}

function redisEngine(): Engine {
  const key = `${prefix}engine`;
  const pub = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  let closing = false;
  return {
    name: 'Redis Streams',
    publish: (body) => pub.xadd(key, 'MAXLEN', '~', '100000', '*', 'd', body),
    async consume(onMessage) {
      let last = '$';
      void (async () => {
        while (!closing) {
          const result = (await sub.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', key, last).catch(() => null)) as [Buffer, [Buffer, Buffer[]][]][] | null;
          for (const [, entries] of result ?? []) {
            for (const [id, fields] of entries) {
              last = id.toString();
              onMessage(fields[1]!);
            }
          }
        }
      })();
      await sleep(50); // the first XREAD is waiting before anything is published
    },
    async close() {
      closing = true;
      await pub.del(key);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

async function jetStreamEngine(storage: StorageType): Promise<Engine> {
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  const name = `bench_stream_${run}_${storage}`;
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [`${name}.>`], storage, max_msgs: 100_000 });
  const js = nc.jetstream();
  let stop: (() => void) | undefined;
  return {
    name: `JetStream (${storage})`,
    publish: (body) => js.publish(`${name}.events`, body),
    async consume(onMessage) {
      const consumer = await js.consumers.get(name);
      const messages = await consumer.consume();
      stop = () => void messages.stop();
      void (async () => {
        for await (const message of messages) onMessage(Buffer.from(message.data));
      })();
      await sleep(50);
    },
    async close() {
      stop?.();
      await jsm.streams.delete(name).catch(() => {});
      await nc.close();
    },
  };
}

/** Publish → consume latency one message at a time, then throughput with WINDOW in flight. */
async function measureEngine(engine: Engine): Promise<Record<string, unknown>> {
  const sentAt = new Map<number, number>();
  const latency = createHistogram();
  let received = 0;
  let expectUntil = 0;
  let done: (() => void) | undefined;
  await engine.consume((body) => {
    const n = body.readUInt32BE(0);
    const t0 = sentAt.get(n);
    if (t0 !== undefined) {
      recordMs(latency, performance.now() - t0);
      sentAt.delete(n);
    }
    received++;
    if (received >= expectUntil) done?.();
  });
  const message = (n: number) => {
    const body = Buffer.allocUnsafe(4 + payload.length);
    body.writeUInt32BE(n, 0);
    payload.copy(body, 4);
    return body;
  };
  // Latency: one in flight; the next leaves once the previous was consumed.
  for (let n = 0; n < LATENCY_MESSAGES; n++) {
    expectUntil = received + 1;
    const consumed = new Promise<void>((resolve) => (done = resolve));
    sentAt.set(n, performance.now());
    await engine.publish(message(n));
    await consumed;
  }
  // Throughput: WINDOW publishes in flight, until the consumer has them all.
  expectUntil = received + THROUGHPUT_MESSAGES;
  const all = new Promise<void>((resolve) => (done = resolve));
  const start = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (let n = 0; n < THROUGHPUT_MESSAGES; n++) {
    const p = engine.publish(message(LATENCY_MESSAGES + n)).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await all;
  const seconds = (performance.now() - start) / 1000;
  await engine.close();
  return { engine: engine.name, latencyMs: summary(latency), throughputPerSec: Math.round(THROUGHPUT_MESSAGES / seconds) };
}

// ---- 1. engine choice ----
console.log(`bench:stream — ${new Date().toISOString()}, load average ${loadAverage()}, ${os.cpus().length} cores (generator, servers and instances share them)`);
const engines: Record<string, unknown>[] = [await measureEngine(redisEngine())];
try {
  engines.push(await measureEngine(await jetStreamEngine(StorageType.File)));
  engines.push(await measureEngine(await jetStreamEngine(StorageType.Memory)));
} catch (error) {
  console.log(`JetStream not measured (${(error as Error).message}): start nats-server -js or set NATS_URL`);
}
console.log('\n1. publish → consume, one at a time (latency) and 1,000 in flight (throughput)');
printTable(
  engines.map((e) => {
    const l = e.latencyMs as { p50: number; p99: number };
    const ref = engines[0]!;
    return { engine: String(e.engine), 'p50 ms': l.p50.toFixed(3), 'p99 ms': l.p99.toFixed(3), 'msgs/s': Number(e.throughputPerSec), 'throughput vs Redis': (Number(e.throughputPerSec) / Number(ref.throughputPerSec)).toFixed(2) };
  }),
);

// ---- 2. end to end: commit on A → WebSocket client on B ----
function instanceConfig(): ReturnType<typeof loadConfig> {
  return loadConfig({
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL,
    TACHYON_TICK_RATE: '0',
    TACHYON_INSTRUMENTS: '50',
    TACHYON_SEED_DAYS: '0',
    TACHYON_RATE_LIMIT: '0',
    TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
    TACHYON_RISK_MAX_ORDERS_PER_SECOND: '100000',
    TACHYON_DEMO_TOKEN: TOKEN,
    TACHYON_BUS_CHANNEL: `${prefix}bus`,
    TACHYON_CACHE_PREFIX: `${prefix}cache`,
    TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
    TACHYON_ANALYSIS_THREADS: '1',
  });
}
const a: Platform = await buildPlatform(instanceConfig(), { inMemory: true });
const b: Platform = await buildPlatform(instanceConfig(), { inMemory: true });
await a.listen();
const addressB = await b.listen();
const symbol = a.marketData.instruments[0]!.symbol;
const instrument = a.marketData.findInstrument(symbol)!.id;

const viaStream = createHistogram();
const viaPubSub = createHistogram();
const commit = createHistogram();
const publishedAt = new Map<string, number>();
const client = new RealtimeClient({
  url: addressB.replace(/^http/, 'ws') + '/ws',
  token: TOKEN,
  format: 'msgpack',
  createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
  onMessage(message) {
    const now = performance.now();
    const key = message.channel.startsWith('orders:') ? `o${(message.data as { order?: { id: number } }).order?.id}:${(message.data as { type?: string }).type}` : `q${(message.data as { size: number }).size}`;
    const t0 = publishedAt.get(key);
    if (t0 === undefined) return;
    publishedAt.delete(key);
    recordMs(message.channel.startsWith('orders:') ? viaStream : viaPubSub, now - t0);
  },
});
const account = (await client.connect()).accountIds[0]!;
await client.subscribe([`orders:${account}`, `quotes:${symbol}`]);
// Order events leave A after their commit: the moment A's own bus has them is the commit's end.
a.bus.subscribe(`order.${account}`, (event, _topic, remote) => {
  if (!remote) publishedAt.set(`o${event.order.id}:${event.type}`, performance.now());
});
const price = a.marketData.book.last(instrument);
for (let i = 1; i <= E2E_EVENTS; i++) {
  a.marketData.book.update(instrument, price - 100, price, price, 1_000_000, Date.now(), 1_000_000, 1_000_000);
  const t0 = performance.now();
  await a.trading.engine.place(account, { symbol, side: 'buy', type: 'market', timeInForce: 'day', quantity: 1, limitPrice: null, stopPrice: null, clientOrderId: null });
  recordMs(commit, performance.now() - t0);
  // The reference: a quote published on A at the same moment, bridged over Redis pub/sub (its size numbers it).
  publishedAt.set(`q${i}`, performance.now());
  a.bus.publish(`quote.${symbol}`, { id: instrument, symbol, bid: price - 100, ask: price, last: price, size: i, ts: Date.now(), bidSize: 100, askSize: 100 });
  // Spaced beyond one flush interval, so conflation never merges two quotes (it would hide one sample).
  await sleep(25);
}
for (let i = 0; i < 200 && publishedAt.size > 0; i++) await sleep(25);
client.close();
const e2e = { stream: summary(viaStream), pubsub: summary(viaPubSub), placeToCommitMs: summary(commit), lostSamples: publishedAt.size };
console.log(`\n2. end to end, event published on A after its commit → WebSocket client on B (flush ${b.config.realtime.flushIntervalMs} ms, msgpack)`);
printTable([
  { path: 'event stream (orders)', samples: e2e.stream.count, 'p50 ms': e2e.stream.p50.toFixed(2), 'p99 ms': e2e.stream.p99.toFixed(2), 'max ms': e2e.stream.max.toFixed(2) },
  { path: 'pub/sub bridge (quotes)', samples: e2e.pubsub.count, 'p50 ms': e2e.pubsub.p50.toFixed(2), 'p99 ms': e2e.pubsub.p99.toFixed(2), 'max ms': e2e.pubsub.max.toFixed(2) },
]);
console.log(`stream / pub/sub: p50 ${(e2e.stream.p50 / e2e.pubsub.p50).toFixed(2)}×, p99 ${(e2e.stream.p99 / e2e.pubsub.p99).toFixed(2)}×; place → commit p50 ${e2e.placeToCommitMs.p50.toFixed(2)} ms; unreceived samples ${e2e.lostSamples}`);
await Promise.all([a.stop(), b.stop()]);

// ---- 3. stream throughput against redis-benchmark ----
const streamOptions: ConstructorParameters<typeof RedisEventStream>[0] = {
  url: REDIS_URL,
  prefix: `${prefix}tp:`,
  partitions: 16,
  historySize: 1_000,
  retentionMs: 600_000,
  logMaxLen: 20_000,
  bufferLimit: 10_000_000,
  origin: 'consumer',
  consumer: undefined,
  logger: pino({ level: 'silent' }),
};
const streamConsumer = new RedisEventStream(streamOptions);
const streamProducer = new RedisEventStream({ ...streamOptions, origin: 'producer' });
let consumed = 0;
let allConsumed: (() => void) | undefined;
streamConsumer.onEntry(() => {
  if (++consumed === THROUGHPUT_MESSAGES) allConsumed?.();
});
await Promise.all([streamConsumer.start(), streamProducer.start()]);
const everything = new Promise<void>((resolve) => (allConsumed = resolve));
const data = JSON.parse(payload.toString()) as unknown;
const start = performance.now();
// 1,000 accounts' orders channels, appended as fast as the producer can.
for (let n = 0; n < THROUGHPUT_MESSAGES; n++) {
  streamProducer.append(`orders:${n % 1_000}`, `order.${n % 1_000}`, data);
  if (n % 5_000 === 4_999) await new Promise((resolve) => setImmediate(resolve));
}
await everything;
const streamPerSec = Math.round(THROUGHPUT_MESSAGES / ((performance.now() - start) / 1000));
await Promise.all([streamProducer.close(), streamConsumer.close()]);
const { hostname, port } = new URL(REDIS_URL);
const benchmark = spawnSync('redis-benchmark', ['-h', hostname, '-p', port || '6379', '-n', String(THROUGHPUT_MESSAGES * 2), '-P', '16', '-q', '--csv', 'XADD', `${prefix}redis-benchmark`, 'MAXLEN', '~', '20000', '*', 'd', payload.toString()], { encoding: 'utf8' });
const xaddPerSec = Number(/"[^"]*","([\d.]+)"/.exec(benchmark.stdout)?.[1] ?? NaN);
const cleanup = new Redis(REDIS_URL);
let cursor = '0';
do {
  const [next, keys] = await cleanup.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  if (keys.length > 0) await cleanup.del(...keys);
  cursor = next;
} while (cursor !== '0');
cleanup.disconnect();
console.log('\n3. throughput: the platform stream (append → every entry consumed) vs redis-benchmark XADD -P 16');
printTable([
  { path: 'platform stream (16 partitions, 1,000 channels)', 'events/s': streamPerSec },
  { path: 'redis-benchmark XADD, pipeline 16', 'events/s': Math.round(xaddPerSec) },
]);
console.log(`stream / redis-benchmark: ${(streamPerSec / xaddPerSec).toFixed(2)}×; load average ${loadAverage()}`);

const headline: Headline = {
  subject: 'platform stream (append → every entry consumed)',
  reference: 'redis-benchmark XADD, pipeline 16 (same run)',
  throughput: { unit: 'events/s', value: streamPerSec, reference: xaddPerSec },
};
const file = writeResults('stream', { loadAverage: os.loadavg(), engines, endToEnd: e2e, throughput: { streamPerSec, redisBenchmarkXaddPerSec: xaddPerSec, ratio: streamPerSec / xaddPerSec }, headline });
console.log(`\nwrote ${file}`);
process.exit(0);
