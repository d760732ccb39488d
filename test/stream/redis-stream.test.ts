/**
 * The event stream on a real Redis (the shared one, through a TCP proxy this suite cuts: never the
 * server itself): offsets per channel, delivery to every instance, events appended during an
 * outage arriving after it, a bounded buffer that counts what it dropped, a consumer resuming from
 * its checkpoint, and recovery answers (exact entries, expired offset, other epoch).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventStream, type RedisStreamOptions } from '../../src/stream/redis-stream.ts';
import type { StreamEntry } from '../../src/stream/event-stream.ts';
import { deleteRedisKeys, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually } from '../realtime/support.ts';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('RedisEventStream', () => {
  const prefix = redisPrefix('stream');
  let proxy: TcpProxy;
  const open: RedisEventStream[] = [];

  beforeAll(async () => {
    const target = new URL(REDIS_TEST_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) }, { from: 29300, to: 29399 });
  });
  afterAll(async () => {
    for (const stream of open) await stream.close();
    await proxy?.close();
    await deleteRedisKeys(prefix);
  });

  async function start(origin: string, options: Partial<RedisStreamOptions> = {}): Promise<{ stream: RedisEventStream; entries: StreamEntry[] }> {
    const stream = new RedisEventStream({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      partitions: 4,
      historySize: 100,
      retentionMs: 60_000,
      logMaxLen: 10_000,
      bufferLimit: 1_000,
      origin,
      consumer: undefined,
      logger: pino({ level: 'silent' }),
      ...options,
    });
    const entries: StreamEntry[] = [];
    stream.onEntry((entry) => entries.push(entry));
    await stream.start();
    open.push(stream);
    return { stream, entries };
  }

  const offsets = (entries: StreamEntry[], channel: string) => entries.filter((e) => e.channel === channel).map((e) => e.offset);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('numbers each channel 1, 2, 3 … and delivers every entry, in order, to every instance (the appending one too)', async () => {
    const a = await start('a');
    const b = await start('b');
    for (let i = 1; i <= 20; i++) a.stream.append(i % 2 ? 'orders:1' : 'portfolio:1', i % 2 ? 'order.1' : 'portfolio.1', { i });
    await eventually(() => b.entries.length === 20 && a.entries.length === 20, 'every entry on both instances');
    expect(offsets(b.entries, 'orders:1')).toEqual(range(1, 10));
    expect(offsets(b.entries, 'portfolio:1')).toEqual(range(1, 10));
    expect(b.entries.filter((e) => e.channel === 'orders:1').map((e) => (e.data as { i: number }).i)).toEqual(range(1, 10).map((n) => 2 * n - 1));
    expect(b.entries[0]).toMatchObject({ topic: 'order.1', origin: 'a', epoch: a.entries[0]!.epoch });
  });

  it('keeps what is appended while Redis is away (bounded, counting drops) and delivers it, in order, once Redis is back', async () => {
    const a = await start('a2', { bufferLimit: 8 });
    const b = await start('b2');
    a.stream.append('orders:2', 'order.2', { n: 1 });
    await eventually(() => b.entries.length === 1, 'the first entry');
    await proxy.cut();
    await eventually(() => !a.stream.stats().connected, 'the outage to be seen');
    for (let n = 2; n <= 11; n++) a.stream.append('orders:2', 'order.2', { n });
    expect(a.stream.stats()).toMatchObject({ buffered: 8, dropped: 2, connected: false });
    expect(b.entries).toHaveLength(1);
    await proxy.restore();
    await eventually(() => b.entries.length === 9, 'the buffered entries after the outage', 20_000);
    expect(b.entries.map((e) => [e.offset, (e.data as { n: number }).n])).toEqual(range(1, 9).map((n) => [n, n]));
    expect(a.stream.stats()).toMatchObject({ buffered: 0, dropped: 2, connected: true });
  }, 60_000);

  it('starts while Redis is away and joins once it is back: what was appended meanwhile arrives', async () => {
    await proxy.cut();
    const a = await start('a5');
    const b = await start('b5');
    expect(a.stream.stats().connected).toBe(false);
    a.stream.append('orders:5', 'order.5', { n: 1 });
    await proxy.restore();
    await eventually(() => a.stream.stats().connected && b.entries.length === 1, 'the connection and the entry', 20_000);
    expect(b.entries[0]).toMatchObject({ channel: 'orders:5', offset: 1, data: { n: 1 } });
  }, 60_000);

  it('resumes a consumer from its checkpoint after a restart: what was appended meanwhile is read', async () => {
    const a = await start('a3');
    const first = await start('b3', { consumer: 'instance-b3' });
    a.stream.append('orders:3', 'order.3', { n: 1 });
    await eventually(() => first.entries.length === 1, 'the entry before the restart');
    await first.stream.close(); // writes its checkpoint
    for (let n = 2; n <= 4; n++) a.stream.append('orders:3', 'order.3', { n });
    await eventually(() => a.entries.length === 4, 'the appends while the consumer was down');
    const restarted = await start('b3-again', { consumer: 'instance-b3' });
    await eventually(() => restarted.entries.length === 3, 'the entries appended while it was down');
    expect(restarted.entries.map((e) => e.offset)).toEqual([2, 3, 4]);
    // Without a name a consumer starts at the end.
    const fresh = await start('b3-fresh');
    a.stream.append('orders:3', 'order.3', { n: 5 });
    await eventually(() => fresh.entries.length === 1, 'the next entry');
    expect(fresh.entries[0]!.offset).toBe(5);
  });

  it('answers recovery: the exact entries after an offset; expired beyond the history; impossible in another epoch', async () => {
    const a = await start('a4', { historySize: 5 });
    for (let n = 1; n <= 12; n++) a.stream.append('orders:4', 'order.4', { n });
    await eventually(() => a.entries.length === 12, 'the appends');
    const { epoch } = a.entries[0]!;
    expect(await a.stream.position('orders:4')).toEqual({ offset: 12, epoch });
    const recent = await a.stream.since('orders:4', { offset: 9, epoch });
    expect(recent.recovered && recent.entries.map((e) => [e.offset, e.data])).toEqual([
      [10, { n: 10 }],
      [11, { n: 11 }],
      [12, { n: 12 }],
    ]);
    expect(await a.stream.since('orders:4', { offset: 12, epoch })).toMatchObject({ recovered: true, entries: [] });
    expect(await a.stream.since('orders:4', { offset: 3, epoch })).toEqual({ recovered: false, reason: 'offset_expired', position: { offset: 12, epoch } });
    expect(await a.stream.since('orders:4', { offset: 9, epoch: 'other' })).toEqual({ recovered: false, reason: 'epoch_changed', position: { offset: 12, epoch } });
    await proxy.cut();
    expect(await a.stream.since('orders:4', { offset: 9, epoch })).toEqual({ recovered: false, reason: 'unavailable', position: undefined });
    await proxy.restore();
  });
});
