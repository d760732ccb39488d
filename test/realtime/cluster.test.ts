/**
 * Two instances sharing one Redis: a quote published on A and an order event published on A reach
 * a client connected to B. Without Redis the suite is skipped loudly (a failure under CI=true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';
import { eventually, recordingClient, wsUrl } from './support.ts';
import { publishPartial } from '../support/bus-events.ts';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('/ws across instances through Redis', () => {
  let a: TestPlatform;
  let b: TestPlatform;
  let urlB: string;

  beforeAll(async () => {
    const overrides = { redisUrl: REDIS_TEST_URL, realtime: { ...testConfig().realtime, busChannel: redisPrefix('ws') + 'bus' } };
    [a, b] = await Promise.all([startTestPlatform(pglite, overrides), startTestPlatform(pglite, overrides)]);
    await a.platform.listen();
    urlB = wsUrl(await b.platform.listen());
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('delivers market data and account events published on one instance to clients of another', async () => {
    const symbol = a.platform.marketData.instruments[0]!.symbol;
    const { client, messages } = recordingClient({ url: urlB, token: DEMO_TOKEN });
    const welcome = await client.connect();
    const account = welcome.accountIds[0]!;
    await client.subscribe([`quotes:${symbol}`, 'orders']);
    a.platform.bus.publish(`quote.${symbol}`, { id: 1, symbol, bid: 99, ask: 101, last: 100, size: 10, ts: Date.now(), bidSize: 10, askSize: 10 });
    publishPartial(a.platform.bus, `order.${account}`, { id: 'o1', status: 'accepted' });
    publishPartial(a.platform.bus, `fill.${account}`, { orderId: 'o1', quantity: 10 });
    await eventually(() => messages.length >= 3, 'the remote events');
    // Ordered events precede conflated states within a batch; only per-channel order is promised.
    expect(messages).toHaveLength(3);
    expect(messages.filter((m) => m.channel === `orders:${account}`).map((m) => [m.event, m.data])).toEqual([
      ['order', { id: 'o1', status: 'accepted' }],
      ['fill', { orderId: 'o1', quantity: 10 }],
    ]);
    expect(messages.find((m) => m.channel === `quotes:${symbol}`)?.data).toMatchObject({ last: 100 });
    // The remote quote is B's snapshot for new subscribers (B's own book never saw it).
    const late = recordingClient({ url: urlB, token: DEMO_TOKEN });
    await late.client.connect();
    const { subscriptions } = await late.client.subscribe([`quotes:${symbol}`]);
    expect(subscriptions[0]!.snapshot).toMatchObject({ last: 100 });
    client.close();
    late.client.close();
  });
});
