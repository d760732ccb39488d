/**
 * The /ws gateway end to end on one in-process platform (embedded PGlite: the gateway's behaviour
 * does not depend on the storage engine). Ticks and account events are published on the bus by
 * the test, so every expectation is deterministic.
 */
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromUnits } from '../../src/kernel/money.ts';
import { createBarBatch } from '../../src/market-data/bar.ts';
import type { Tick } from '../../src/market-data/feed.ts';
import { CloseCode, SUBPROTOCOL_MSGPACK, type BatchFrame, type ErrorFrame, type SubscribedFrame, type WelcomeFrame } from '../../src/realtime/protocol.ts';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { eventually, rawSocket, recordingClient, wsUrl } from './support.ts';
import { publishPartial } from '../support/bus-events.ts';

let t: TestPlatform;
let url: string;
let symbols: string[];
let otherToken: string;
let otherAccount: number;

const tick = (symbol: string, last: number): Tick => ({ id: 0, symbol, bid: last - 1, ask: last + 1, last, size: 100, ts: Date.now(), bidSize: 100, askSize: 100 });

beforeAll(async () => {
  t = await startTestPlatform(pglite, {
    realtime: { ...testConfig().realtime, maxSubscriptionsPerConnection: 5, maxConnectionsPerUser: 3, maxMessageBytes: 1024, maxMessagesPerSecond: 20, heartbeatMs: 200, heartbeatTimeoutMs: 600, authTimeoutMs: 1_000 },
  });
  url = wsUrl(await t.platform.listen());
  symbols = t.platform.marketData.instruments.slice(0, 3).map((i) => i.symbol);
  const other = await t.platform.users.create({ name: 'other-trader', role: 'trader', openingCash: 1_000_000 });
  otherToken = other.token;
  otherAccount = other.accountId!;
});
afterAll(() => t?.close());

describe('/ws gateway', () => {
  it('subscribes with a snapshot, streams numbered quotes, and stops after unsubscribe', async () => {
    const { client, messages } = recordingClient({ url, token: DEMO_TOKEN });
    const welcome = await client.connect();
    expect(welcome.format).toBe('json');
    const { subscriptions, errors } = await client.subscribe([`quotes:${symbols[0]!.toLowerCase()}`]);
    expect(errors).toEqual([]);
    const channel = `quotes:${symbols[0]}`;
    expect(subscriptions).toEqual([{ channel, seq: expect.any(Number), snapshot: expect.objectContaining({ symbol: symbols[0], last: expect.any(Number) }) }]);
    const base = subscriptions[0]!.seq;
    t.platform.bus.publish(`quote.${symbols[0]}`, tick(symbols[0]!, 1000));
    t.platform.bus.publish(`quote.${symbols[1]}`, tick(symbols[1]!, 2000)); // not subscribed
    await eventually(() => messages.length >= 1, 'the quote');
    expect(messages[0]).toEqual({ channel, seq: base + 1, data: expect.objectContaining({ last: 1000 }) });

    await client.unsubscribe([channel]);
    t.platform.bus.publish(`quote.${symbols[0]}`, tick(symbols[0]!, 1001));
    // A ping round trip after the publish: had a batch been queued, it would have been flushed by now.
    const raw = await rawSocket(url, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    raw.send({ type: 'ping', id: 1 });
    await raw.next((f) => f.type === 'pong');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages).toHaveLength(1);
    raw.socket.close();
    client.close();
  });

  it('speaks MessagePack when asked by subprotocol and authenticates from the Authorization header', async () => {
    const raw = await rawSocket(url, { protocols: [SUBPROTOCOL_MSGPACK], headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    expect(raw.socket.protocol).toBe(SUBPROTOCOL_MSGPACK);
    const welcome = await raw.next<WelcomeFrame>((f) => f.type === 'welcome');
    expect(welcome.format).toBe('msgpack');
    raw.send(pack({ type: 'subscribe', id: 7, channels: [`quotes:${symbols[2]}`] }));
    await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 7);
    t.platform.bus.publish(`quote.${symbols[2]}`, tick(symbols[2]!, 3000));
    const batch = await raw.next<BatchFrame>((f) => f.type === 'batch');
    expect(batch.messages[0]).toMatchObject({ channel: `quotes:${symbols[2]}`, data: { last: 3000 } });
    raw.socket.close();
  });

  it('refuses bad tokens: 401 on the upgrade, error frame and 4001 on the auth message, and never echoes the token', async () => {
    await expect(rawSocket(url, { headers: { authorization: 'Bearer nope-nope-nope-nope' } })).rejects.toThrow(/401/);
    const raw = await rawSocket(url);
    raw.send({ type: 'subscribe', channels: ['quotes:X'] });
    await raw.next<ErrorFrame>((f) => f.type === 'error' && f.code === 'unauthorized');
    raw.send({ type: 'auth', token: 'secret-but-wrong-token' });
    await eventually(() => raw.closed() !== undefined, 'the close');
    expect(raw.closed()!.code).toBe(CloseCode.UNAUTHORIZED);
    expect(JSON.stringify(raw.frames)).not.toContain('secret-but-wrong-token');
  });

  it('tells a client whose auth is still being checked at the auth timeout to come back (1001), not that its token is bad (4001)', async () => {
    const { authenticator } = t.platform;
    const resolveFrom = authenticator.resolveFrom.bind(authenticator);
    // Slower than the auth timeout (1 s here): a database on a bad day.
    const slow = vi.spyOn(authenticator, 'resolveFrom').mockImplementationOnce(async (token, address) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return resolveFrom(token, address);
    });
    try {
      const raw = await rawSocket(url);
      raw.send({ type: 'auth', token: DEMO_TOKEN });
      await eventually(() => raw.closed() !== undefined, 'the close');
      expect(raw.closed()!.code).toBe(CloseCode.GOING_AWAY);
      expect(raw.frames).toContainEqual(expect.objectContaining({ type: 'error', code: 'internal' }));
    } finally {
      slow.mockRestore();
    }
  });

  it('keeps private channels private: own orders (never conflated, in order), others refused like unknown channels', async () => {
    const { client, messages } = recordingClient({ url, token: DEMO_TOKEN });
    const welcome = await client.connect();
    const own = welcome.accountIds[0]!;
    const { subscriptions, errors } = await client.subscribe(['orders', `portfolio:${otherAccount}`, `orders:${otherAccount}`, 'quotes:NOPE']);
    expect(subscriptions.map((s) => s.channel)).toEqual([`orders:${own}`]);
    expect(subscriptions[0]!.snapshot).toEqual({ accountId: own, openOrders: [] });
    expect(errors.map((e) => [e.code, e.channel])).toEqual([
      ['unknown_channel', `portfolio:${otherAccount}`],
      ['unknown_channel', `orders:${otherAccount}`],
      ['unknown_channel', 'quotes:NOPE'],
    ]);
    for (let i = 1; i <= 200; i++) {
      publishPartial(t.platform.bus, `order.${otherAccount}`, { id: `x${i}` });
      publishPartial(t.platform.bus, `order.${own}`, { id: `o${i}` });
    }
    publishPartial(t.platform.bus, `fill.${own}`, { orderId: 'o200', quantity: 1 });
    await eventually(() => messages.length >= 201, 'all own order events');
    const seq0 = subscriptions[0]!.seq;
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 201 }, (_, i) => seq0 + i + 1));
    expect(messages.slice(0, 200).map((m) => (m.data as { id: string }).id)).toEqual(Array.from({ length: 200 }, (_, i) => `o${i + 1}`));
    expect(messages[200]).toMatchObject({ channel: `orders:${own}`, event: 'fill' });
    expect(messages.every((m) => m.channel === `orders:${own}`)).toBe(true);

    // The other user sees only their own portfolio.
    const other = recordingClient({ url, token: otherToken });
    await other.client.connect();
    const mine = await other.client.subscribe(['portfolio']);
    expect(mine.subscriptions[0]).toMatchObject({ channel: `portfolio:${otherAccount}`, snapshot: { accountId: otherAccount, cash: fromUnits(1_000_000), positions: [] } });
    client.close();
    other.client.close();
  });

  it('snapshots orders and portfolio from the trading engine, in the shapes of the events that follow', async () => {
    const { engine } = t.platform.trading;
    const symbol = symbols[1]!;
    const { client } = recordingClient({ url, token: DEMO_TOKEN });
    const account = (await client.connect()).accountIds[0]!;
    try {
      // A quote with depth at a known ask, so the market order fills whole at it.
      const { book } = t.platform.marketData;
      const id = t.platform.marketData.findInstrument(symbol)!.id;
      const price = book.last(id);
      book.update(id, price - 100, price, price, 100, Date.now(), 1_000, 1_000);
      const { order: bought } = await engine.place(account, { symbol, side: 'buy', type: 'market', timeInForce: 'day', quantity: 2, limitPrice: null, stopPrice: null, clientOrderId: null });
      expect(bought.status).toBe('filled');
      const limitPrice = Math.round((price * 0.95) / 10_000) * 10_000; // inside the collar, below the ask: it rests
      const { order: resting } = await engine.place(account, { symbol, side: 'buy', type: 'limit', timeInForce: 'gtc', quantity: 1, limitPrice, stopPrice: null, clientOrderId: 'rest-1' });
      expect(resting.status).toBe('accepted');

      const { subscriptions } = await client.subscribe(['orders', 'portfolio']);
      const byKind = Object.fromEntries(subscriptions.map((s) => [s.channel.split(':')[0], s.snapshot]));
      expect(byKind.orders).toEqual({ accountId: account, openOrders: [expect.objectContaining({ id: resting.id, clientOrderId: 'rest-1', status: 'accepted', quantity: 1, limitPrice: fromUnits(limitPrice) })] });
      const cash = await engine.read(account, (a) => fromUnits(a.cash));
      expect(byKind.portfolio).toEqual({ accountId: account, cash, positions: [{ symbol, quantity: 2, averagePrice: fromUnits(price), realizedPnl: 0 }] });
      await engine.cancel([account], resting.id);
    } finally {
      client.close();
    }
  });

  it('streams real 1-minute bars: bars:SYMBOL:1m gets each bar once the bar writer has stored it', async () => {
    const symbol = symbols[0]!;
    const { marketData } = t.platform;
    const { client, messages } = recordingClient({ url, token: DEMO_TOKEN });
    await client.connect();
    const { subscriptions } = await client.subscribe([`bars:${symbol}:1m`]);
    expect(subscriptions.map((s) => s.channel)).toEqual([`bars:${symbol}:1m`]);
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const batch = createBarBatch(1);
    batch.length = 1;
    batch.instrumentId[0] = marketData.findInstrument(symbol)!.id;
    batch.ts[0] = minute;
    batch.open[0] = 1_000_000;
    batch.high[0] = 1_020_000;
    batch.low[0] = 990_000;
    batch.close[0] = 1_010_000;
    batch.volume[0] = 700;
    marketData.barWriter.enqueue(batch);
    await eventually(() => messages.length >= 1, 'the bar');
    const bar = { ts: minute, open: 1_000_000, high: 1_020_000, low: 990_000, close: 1_010_000, volume: 700 };
    expect(messages).toEqual([{ channel: `bars:${symbol}:1m`, seq: subscriptions[0]!.seq + 1, data: bar }]);
    // Published after persistence: a read now returns it.
    expect(await marketData.bars(symbol, '1m', { from: minute, to: minute + 60_000, limit: 1 })).toEqual([bar]);
    client.close();
  });

  it('reconnects with backoff, resubscribes, gets a snapshot and continues the sequence', async () => {
    const symbol = symbols[1]!;
    const snapshots: number[] = [];
    const states: string[] = [];
    const { client, messages, sockets } = recordingClient({
      url,
      token: DEMO_TOKEN,
      format: 'msgpack',
      reconnect: { initialMs: 20, maxMs: 200 },
      onSnapshot: (s) => snapshots.push(s.seq),
      onStateChange: (s) => states.push(s),
    });
    await client.connect();
    await client.subscribe([`quotes:${symbol}`]);
    t.platform.bus.publish(`quote.${symbol}`, tick(symbol, 500));
    await eventually(() => messages.length === 1, 'the first quote');
    const before = client.lastSeq(`quotes:${symbol}`)!;

    sockets[0]!.terminate(); // the connection drops without a closing handshake
    await eventually(() => snapshots.length === 2, 'the resubscription snapshot');
    expect(states).toContain('reconnecting');
    expect(snapshots[1]).toBe(before);
    t.platform.bus.publish(`quote.${symbol}`, tick(symbol, 501));
    await eventually(() => messages.length === 2, 'the quote after reconnecting');
    expect(messages[1]).toMatchObject({ seq: before + 1, data: { last: 501 } });
    client.close();
  });

  it('answers limits and malformed frames with error frames and stays up', async () => {
    const raw = await rawSocket(url, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    await raw.next((f) => f.type === 'welcome');
    const codes: string[] = [];
    const expectError = async (frame: unknown, code: string) => {
      const from = raw.frames.length;
      raw.send(frame);
      const error = await raw.next<ErrorFrame>((f) => f.type === 'error', from);
      codes.push(error.code);
      expect(error.code).toBe(code);
    };
    await expectError('{not json', 'bad_request');
    await expectError(Buffer.from([0xc1, 0xff]), 'bad_request');
    await expectError('[1,2]', 'bad_request');
    await expectError({ type: 'dance' }, 'bad_request');
    await expectError({ type: 'subscribe', channels: 'quotes:A' }, 'bad_request');
    await expectError({ type: 'subscribe', channels: ['x'.repeat(100)] }, 'unknown_channel');
    await expectError({ type: 'auth', token: DEMO_TOKEN }, 'already_authenticated');
    await expectError({ type: 'ping', pad: 'x'.repeat(2000) }, 'message_too_large');
    const many = t.platform.marketData.instruments.slice(0, 6).map((i) => `quotes:${i.symbol}`);
    await expectError({ type: 'subscribe', id: 3, channels: many }, 'subscription_limit');
    const subscribed = await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 3);
    expect(subscribed.subscriptions).toHaveLength(5);
    for (let i = 0; i < 40; i++) raw.send({ type: 'ping', id: 100 + i });
    await raw.next<ErrorFrame>((f) => f.type === 'error' && f.code === 'rate_limited');
    expect(raw.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the bucket refills
    raw.send({ type: 'ping', id: 999 });
    await raw.next((f) => f.type === 'pong' && f.id === 999);
    expect(raw.closed()).toBeUndefined();
    raw.socket.close();
  });

  it('limits connections per user with an error frame and close code 4009', async () => {
    const sockets = await Promise.all([1, 2, 3].map(() => rawSocket(url, { headers: { authorization: `Bearer ${otherToken}` } })));
    await Promise.all(sockets.map((s) => s.next((f) => f.type === 'welcome')));
    const fourth = await rawSocket(url);
    fourth.send({ type: 'auth', token: otherToken });
    await fourth.next<ErrorFrame>((f) => f.type === 'error' && f.code === 'connection_limit');
    await eventually(() => fourth.closed() !== undefined, 'the close');
    expect(fourth.closed()!.code).toBe(CloseCode.CONNECTION_LIMIT);
    for (const s of sockets) s.socket.close();
  });

  it('reaps connections that stop answering pings', async () => {
    const reapedBefore = t.platform.realtime.stats().reaped;
    const raw = await rawSocket(url, { autoPong: false, headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    await eventually(() => raw.closed() !== undefined, 'the reaping', 10_000);
    expect(t.platform.realtime.stats().reaped).toBeGreaterThan(reapedBefore);
  });

  it('reports stats', () => {
    const stats = t.platform.realtime.stats();
    expect(stats.messagesOut).toBeGreaterThan(0);
    expect(stats.tickToSendMs.count).toBe(stats.messagesOut);
    expect(stats).toMatchObject({ conflated: expect.any(Number), dropped: expect.any(Number), sendBuffer: { totalBytes: expect.any(Number) } });
  });
});
