/**
 * WebSocket recovery (issue 22): a client whose connection dies resubscribes with the last offset
 * and epoch of its recoverable channels and receives exactly the events it missed, in order, or is
 * told recovery is impossible (offset older than the retention, another epoch) and gets a fresh
 * snapshot. Across instances (Redis): the client's instance stops, it reconnects to another one and
 * misses nothing.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { RealtimeClient, type WebSocketLike } from '../../src/realtime/client.ts';
import type { ChannelMessage, ErrorFrame, Subscription, SubscribedFrame, WelcomeFrame } from '../../src/realtime/protocol.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { publishPartial } from '../support/bus-events.ts';
import { deleteRedisKeys, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';
import { eventually, rawSocket, wsUrl } from './support.ts';

const FAST_RECONNECT = { initialMs: 10, maxMs: 50 };

/** A client on `url()` (asked again at every reconnect), recording messages, snapshots and its sockets. */
function client(url: () => string) {
  const messages: ChannelMessage[] = [];
  const snapshots: Subscription[] = [];
  const sockets: WebSocket[] = [];
  const realtime = new RealtimeClient({
    url: 'ws://unused',
    token: DEMO_TOKEN,
    reconnect: FAST_RECONNECT,
    createSocket: (_url, protocols) => {
      const socket = new WebSocket(url(), protocols);
      sockets.push(socket);
      return socket as unknown as WebSocketLike;
    },
    onMessage: (m) => messages.push(m),
    onSnapshot: (s) => snapshots.push(s),
  });
  return { realtime, messages, snapshots, sockets };
}

const ids = (messages: ChannelMessage[]) => messages.map((m) => (m.data as { id: number }).id);

describe('WebSocket recovery on one instance (in-memory stream)', () => {
  let t: TestPlatform;
  let url: string;

  beforeAll(async () => {
    t = await startTestPlatform(pglite, { stream: { ...testConfig().stream, historySize: 5 } });
    url = wsUrl(await t.platform.listen());
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a client killed and reconnected with its offset receives exactly the missed events, in order, and no snapshot', async () => {
    const c = client(() => url);
    const account = (await c.realtime.connect()).accountIds[0]!;
    const { subscriptions } = await c.realtime.subscribe(['orders']);
    expect(subscriptions[0]).toMatchObject({ channel: `orders:${account}`, offset: 0, epoch: expect.any(String), snapshot: { openOrders: [] } });
    publishPartial(t.platform.bus, `order.${account}`, { id: 1 });
    await eventually(() => c.messages.length === 1, 'the first event');
    expect(c.messages[0]).toMatchObject({ channel: `orders:${account}`, seq: 1, offset: 1, epoch: subscriptions[0]!.epoch, event: 'order' });

    c.sockets.at(-1)!.terminate();
    publishPartial(t.platform.bus, `order.${account}`, { id: 2 });
    publishPartial(t.platform.bus, `fill.${account}`, { id: 3 });
    publishPartial(t.platform.bus, `order.${account}`, { id: 4 });
    await eventually(() => c.sockets.length === 2 && c.realtime.state === 'open' && c.messages.length >= 4, 'the reconnection and the missed events');
    publishPartial(t.platform.bus, `order.${account}`, { id: 5 });
    await eventually(() => c.messages.length >= 5, 'the next live event');
    expect(ids(c.messages)).toEqual([1, 2, 3, 4, 5]);
    expect(c.messages.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5]);
    expect(c.messages.map((m) => m.event)).toEqual(['order', 'order', 'fill', 'order', 'order']);
    expect(c.snapshots).toHaveLength(1); // the first subscribe only: the reconnection recovered
    c.realtime.close();
  });

  it('an offset older than the retention gets recovery-impossible and a fresh snapshot', async () => {
    const c = client(() => url);
    const account = (await c.realtime.connect()).accountIds[0]!;
    await c.realtime.subscribe(['orders']);
    const before = c.realtime.position(`orders:${account}`)!;
    c.sockets.at(-1)!.terminate();
    for (let id = 1; id <= 8; id++) publishPartial(t.platform.bus, `order.${account}`, { id }); // history keeps 5
    await eventually(() => c.snapshots.length === 2, 'the snapshot after the reconnection');
    expect(c.snapshots[1]).toMatchObject({ channel: `orders:${account}`, recovered: false, recoveryError: 'offset_expired', offset: before.offset + 8, snapshot: { openOrders: [] } });
    expect(c.messages).toEqual([]);
    publishPartial(t.platform.bus, `order.${account}`, { id: 9 });
    await eventually(() => c.messages.length === 1, 'the next live event');
    expect(c.messages[0]!.offset).toBe(before.offset + 9);
    c.realtime.close();
  });

  it('an offset of another epoch gets recovery-impossible and a snapshot; a malformed recover is a bad request', async () => {
    const raw = await rawSocket(url, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    const welcome = await raw.next<WelcomeFrame>((f) => f.type === 'welcome');
    const channel = `portfolio:${welcome.accountIds[0]}`;
    raw.send({ type: 'subscribe', id: 1, channels: ['portfolio'], recover: { [channel]: { offset: 3, epoch: 'gone' } } });
    const answer = await raw.next<SubscribedFrame>((f) => f.type === 'subscribed');
    expect(answer.subscriptions).toEqual([expect.objectContaining({ channel, recovered: false, recoveryError: 'epoch_changed', snapshot: expect.objectContaining({ cash: expect.any(Number) }) })]);
    raw.send({ type: 'subscribe', id: 2, channels: ['orders'], recover: { [channel]: { offset: -1, epoch: 'x' } } });
    const refused = await raw.next<ErrorFrame>((f) => f.type === 'error');
    expect(refused).toMatchObject({ id: 2, code: 'bad_request' });
    raw.socket.close();
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('WebSocket recovery across instances (Redis Streams)', () => {
  let a: TestPlatform;
  let b: TestPlatform | undefined;
  let urlA: string;
  let urlB: string;
  const prefix = redisPrefix('recovery');

  beforeAll(async () => {
    const overrides = { redisUrl: REDIS_TEST_URL, realtime: { ...testConfig().realtime, busChannel: `${prefix}bus` } };
    [a, b] = await Promise.all([startTestPlatform(pglite, overrides), startTestPlatform(pglite, overrides)]);
    urlA = wsUrl(await a.platform.listen());
    urlB = wsUrl(await b.platform.listen());
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await deleteRedisKeys(prefix);
  });

  it('a client whose instance stops reconnects to another with its offset: every event exactly once, in order', async () => {
    let target = urlB;
    const c = client(() => target);
    const account = (await c.realtime.connect()).accountIds[0]!;
    await c.realtime.subscribe(['orders', 'portfolio']);
    // Published on A (the account's writer), delivered to the client on B through the stream.
    for (let id = 1; id <= 3; id++) publishPartial(a.platform.bus, `order.${account}`, { id });
    publishPartial(a.platform.bus, `portfolio.${account}`, { id: 100 });
    await eventually(() => c.messages.length === 4, 'the events through B');

    target = urlA;
    const stopping = b!.close();
    b = undefined;
    for (let id = 4; id <= 6; id++) publishPartial(a.platform.bus, `order.${account}`, { id });
    publishPartial(a.platform.bus, `portfolio.${account}`, { id: 101 });
    await stopping;
    await eventually(() => c.realtime.state === 'open' && c.messages.length >= 8, 'the reconnection to A and the missed events', 20_000);
    for (let id = 7; id <= 8; id++) publishPartial(a.platform.bus, `order.${account}`, { id });
    await eventually(() => c.messages.length >= 10, 'the live events on A');

    const orders = c.messages.filter((m) => m.channel === `orders:${account}`);
    const portfolio = c.messages.filter((m) => m.channel === `portfolio:${account}`);
    expect(ids(orders)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(orders.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => n + orders[0]!.offset! - 1));
    expect(ids(portfolio)).toEqual([100, 101]);
    expect(c.snapshots.map((s) => s.channel).sort()).toEqual([`orders:${account}`, `portfolio:${account}`]); // no snapshot after the move
    c.realtime.close();
  }, 60_000);
});
