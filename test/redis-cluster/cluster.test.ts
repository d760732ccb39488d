/**
 * Everything the platform keeps in Redis, against a real six-node Redis Cluster (3 primaries,
 * 3 replicas, ports 18201-18206, started here and stopped after): the L2 cache and its bus, the
 * cross-instance lock, the shared order rate, the BullMQ task queue (the TaskQueue contract, on
 * hash-tagged keys) and the event stream (partitions in their own slots). Then a primary fails
 * over under load: acknowledged writes and appended events all survive it, and cache callers see
 * no error at all.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMqTaskQueue } from '../../src/analysis/task-queue/bullmq.ts';
import { tags } from '../../src/cache/invalidation.ts';
import type { TieredCache } from '../../src/cache/tiered-cache.ts';
import { rateLimitRedis } from '../../src/http/rate-limit.ts';
import { createRedisClient, primaries } from '../../src/kernel/redis-client.ts';
import type { StreamEntry } from '../../src/stream/event-stream.ts';
import { RedisEventStream } from '../../src/stream/redis-stream.ts';
import { RedisOrderRate } from '../../src/trading/shared-order-rate.ts';
import { taskQueueContract } from '../analysis/task-queue-contract.ts';
import { redisServerInstalled } from '../cache/redis-server.ts';
import { buildCache, counter } from '../cache/support.ts';
import { eventually } from '../realtime/support.ts';
import { RedisCluster } from '../support/redis-cluster.ts';

const cluster = redisServerInstalled() ? await RedisCluster.start(18201) : undefined;
const url = cluster?.url ?? '';
const closers: (() => Promise<unknown> | void)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await cluster?.stop();
});

function stream(origin: string) {
  const s = new RedisEventStream({
    url,
    prefix: 'stream:',
    partitions: 4,
    historySize: 1_000,
    retentionMs: 60_000,
    logMaxLen: 10_000,
    bufferLimit: 10_000,
    origin,
    consumer: undefined,
    logger: pino({ level: 'silent' }),
  });
  const entries: StreamEntry[] = [];
  s.onEntry((e) => entries.push(e));
  closers.push(() => s.close());
  return { s, entries };
}

describe.runIf(cluster)('Redis Cluster (six real nodes)', () => {
  let a: TieredCache;
  let b: TieredCache;

  it('L2 cache: one instance’s load is the other’s L2 hit; tag invalidations and writes reach the other’s L1', async () => {
    const options = { prefix: 'cache', redis: { url, timeoutMs: 1_000, breakMs: 300 } };
    [a, b] = await Promise.all([buildCache(options), buildCache(options)]);
    closers.push(() => a.close(), () => b.close());
    const db = { cash: 100 };
    const load = async () => db.cash;
    // Keys of several slots, so reads and writes go to every primary.
    for (let i = 0; i < 20; i++) expect((await a.get('portfolio', `acct:${i}`, load, [tags.account(i)])).status).toBe('miss');
    for (let i = 0; i < 20; i++) expect(await b.get('portfolio', `acct:${i}`, load, [tags.account(i)])).toMatchObject({ value: 100, tier: 'l2' });
    db.cash = 40;
    await a.invalidateTag(tags.account(3), ['portfolio']);
    await expect.poll(async () => (await b.get('portfolio', 'acct:3', load, [tags.account(3)])).value).toBe(40);
    await a.set('portfolio', 'acct:4', 7);
    await expect.poll(async () => (await b.get('portfolio', 'acct:4', load, [tags.account(4)])).value).toBe(7);
    await a.invalidateClass('portfolio');
    await expect.poll(async () => (await b.get('portfolio', 'acct:5', load, [tags.account(5)])).value).toBe(40);
  });

  it('lock: concurrent misses on two instances run the loader once', async () => {
    const { state, load } = counter(() => 'computed', 100);
    const results = await Promise.all([...Array.from({ length: 5 }, () => a.get('strategyPerformance', 'acct:1:s1', load)), ...Array.from({ length: 5 }, () => b.get('strategyPerformance', 'acct:1:s1', load))]);
    expect(results.every((r) => r.value === 'computed')).toBe(true);
    expect(state.calls).toBe(1);
  });

  it('shared order rate: one bucket per account across instances', async () => {
    const [x, y] = await Promise.all([rateLimitRedis(url), rateLimitRedis(url)]);
    closers.push(() => x.disconnect(), () => y.disconnect());
    const rateX = new RedisOrderRate(x, 'rate');
    const rateY = new RedisOrderRate(y, 'rate');
    const now = 1_000_000;
    const granted = [];
    for (let i = 0; i < 6; i++) granted.push(await (i % 2 ? rateX : rateY).take(42, 5, now));
    expect(granted).toEqual([true, true, true, true, true, false]);
    expect(await rateX.take(43, 5, now)).toBe(true);
  });

  it('event stream: every entry on every instance, each channel numbered 1, 2, 3 … in order', async () => {
    const one = stream('one');
    const two = stream('two');
    await Promise.all([one.s.start(), two.s.start()]);
    for (let i = 1; i <= 40; i++) one.s.append(`orders:${i % 8}`, 'order.x', { i });
    await eventually(() => one.entries.length === 40 && two.entries.length === 40, 'every entry on both instances');
    for (let c = 0; c < 8; c++) expect(two.entries.filter((e) => e.channel === `orders:${c}`).map((e) => e.offset)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a primary failover under load: no acknowledged write or appended event lost, no error for cache callers', async () => {
    const client = createRedisClient(url);
    closers.push(() => client.disconnect());
    await client.ping();
    const writer = stream('writer');
    const reader = stream('reader');
    await Promise.all([writer.s.start(), reader.s.start()]);
    const acknowledged: string[] = [];
    let writeErrors = 0;
    let cacheErrors = 0;
    let appended = 0;
    let running = true;
    const load = async () => 'v';
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        const key = `order:${i}`;
        await Promise.all([
          client.set(key, String(i)).then(() => acknowledged.push(key), () => writeErrors++),
          a.get('instruments', `k${i % 50}`, load).catch(() => cacheErrors++),
          a.set('instruments', `w${i % 50}`, i).catch(() => cacheErrors++),
        ]);
        writer.s.append(`orders:${i % 8}`, 'order.x', { i });
        appended++;
      }
    })();
    await eventually(() => acknowledged.length > 50, 'traffic before the failover');
    const [primary] = (await cluster!.primaries()).sort();
    await cluster!.failover(primary!);
    const after = acknowledged.length;
    await eventually(() => acknowledged.length > after + 50, 'traffic after the failover');
    running = false;
    await traffic;

    expect(cacheErrors).toBe(0);
    const values = await Promise.all(acknowledged.map((k) => client.get(k)));
    expect(values.filter((v) => v === null)).toEqual([]);
    await eventually(() => reader.entries.length === appended, `all ${appended} appended events delivered`);
    // Per channel: 1, 2, 3 … with no gap and no duplicate.
    for (let c = 0; c < 8; c++) {
      const offsets = reader.entries.filter((e) => e.channel === `orders:${c}`).map((e) => e.offset);
      expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));
    }
    expect(primaries(client).length).toBe(3);
    console.log(`failover under load: ${acknowledged.length} writes acknowledged, ${writeErrors} refused during the failover window, ${appended} events`);
  });
});

if (cluster) {
  let queues = 0;
  taskQueueContract('BullMQ on a Redis Cluster', {
    open: (concurrency = 1) => new BullMqTaskQueue({ redisUrl: url, prefix: 'tasks', queueName: `contract${queues++}`, concurrency }),
    ready: (queue) => (queue as BullMqTaskQueue).ready(),
  });
}
