/**
 * WebSocket abuse cases from issue #12 on one in-process platform (embedded PGlite, whose snapshot
 * queries run on the main thread): repeated channels in a subscribe frame cost one snapshot; the
 * snapshots a connection reads per second are bounded; a client that never reads and keeps sending
 * bad frames is closed with 1008 while the server's buffered bytes stay bounded; a legit client
 * keeps receiving throughout. Stalls are shown by the work done (snapshot reads counted), not by a
 * loop-delay threshold: on a shared machine a descheduled process shows delays no code caused.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Tick } from '../../src/market-data/feed.ts';
import { CloseCode, type ErrorFrame, type SubscribedFrame } from '../../src/realtime/protocol.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { eventually, rawSocket, recordingClient, wsUrl } from './support.ts';

const HARD_BYTES = 256 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024;
const SNAPSHOTS_PER_SECOND = 10;

let t: TestPlatform;
let url: string;
let symbols: string[];
const auth = { headers: { authorization: `Bearer ${DEMO_TOKEN}` } };
const tick = (symbol: string, last: number): Tick => ({ id: 0, symbol, bid: last - 1, ask: last + 1, bidSize: 100, askSize: 100, last, size: 100, ts: Date.now() });

beforeAll(async () => {
  t = await startTestPlatform(pglite, {
    realtime: {
      ...testConfig().realtime,
      maxSubscriptionsPerConnection: 50,
      maxSnapshotsPerSecond: SNAPSHOTS_PER_SECOND,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      maxMessagesPerSecond: 100_000,
      sendBufferSoftBytes: 64 * 1024,
      sendBufferHardBytes: HARD_BYTES,
    },
  });
  url = wsUrl(await t.platform.listen());
  symbols = t.platform.marketData.instruments.slice(0, 40).map((i) => i.symbol);
});
afterAll(() => t?.close());

describe('/ws abuse', () => {
  it('reads one snapshot for a channel repeated 840 times in a frame, five frames in a row, without stalling', async () => {
    const bars = vi.spyOn(t.platform.marketData, 'bars');
    const raw = await rawSocket(url, auth);
    await raw.next((f) => f.type === 'welcome');
    const channel = `bars:${symbols[0]}:1m`;
    // Warm up (first query plan), so the count below sees the abuse only.
    raw.send({ type: 'subscribe', id: 0, channels: [`bars:${symbols[2]}:1m`] });
    await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 0);
    bars.mockClear();
    for (let id = 1; id <= 5; id++) raw.send({ type: 'subscribe', id, channels: Array.from({ length: 840 }, () => channel) });
    await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 5);
    const answers = raw.frames.filter((f): f is SubscribedFrame => f.type === 'subscribed' && f.id !== 0);
    expect(answers.map((f) => f.subscriptions.map((s) => s.channel))).toEqual(Array.from({ length: 5 }, () => [channel]));
    expect(bars).toHaveBeenCalledTimes(5);
    bars.mockRestore();
    raw.socket.close();
  });

  it('bounds the snapshots a connection reads per second: the rest answer rate_limited and can be subscribed again later', async () => {
    const raw = await rawSocket(url, auth);
    await raw.next((f) => f.type === 'welcome');
    const channels = symbols.slice(0, 30).map((s) => `quotes:${s}`);
    raw.send({ type: 'subscribe', id: 1, channels });
    const first = await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 1);
    const limited = raw.frames.filter((f): f is ErrorFrame => f.type === 'error' && f.code === 'rate_limited');
    expect(limited).toHaveLength(1); // one error frame for the frame, not one per channel
    expect(first.subscriptions.length).toBeGreaterThanOrEqual(SNAPSHOTS_PER_SECOND);
    expect(first.subscriptions.length).toBeLessThan(channels.length);
    // After a second the allowance is back.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rest = channels.filter((c) => !first.subscriptions.some((s) => s.channel === c)).slice(0, SNAPSHOTS_PER_SECOND);
    raw.send({ type: 'subscribe', id: 2, channels: rest });
    const second = await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 2);
    expect(second.subscriptions.map((s) => s.channel).sort()).toEqual([...rest].sort());
    raw.socket.close();
  });

  it('closes a client that never reads and keeps sending bad frames (1008); buffered bytes stay bounded and a legit client keeps receiving', async () => {
    const { client, messages } = recordingClient({ url, token: DEMO_TOKEN });
    await client.connect();
    const watched = `quotes:${symbols[1]}`;
    await client.subscribe([watched]);

    const abuser = await rawSocket(url, auth);
    await abuser.next((f) => f.type === 'welcome');
    abuser.socket.pause(); // never reads again (until the end)
    const closesBefore = t.platform.realtime.stats().slowConsumerCloses;
    // Each frame names ~700 distinct unknown channels: ~700 error frames in reply.
    const badFrame = (k: number) => JSON.stringify({ type: 'subscribe', channels: Array.from({ length: 700 }, (_, i) => `nope:${k}:${i}:${'x'.repeat(60)}`) });
    let maxBuffered = 0;
    for (let k = 0; k < 2000 && t.platform.realtime.stats().slowConsumerCloses === closesBefore; k++) {
      abuser.send(badFrame(k));
      if (k % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
      maxBuffered = Math.max(maxBuffered, t.platform.realtime.stats().sendBuffer.maxBytes);
    }
    expect(t.platform.realtime.stats().slowConsumerCloses).toBe(closesBefore + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    maxBuffered = Math.max(maxBuffered, t.platform.realtime.stats().sendBuffer.maxBytes);
    // Never more than the limit plus one reply frame (an error frame is far below a message's size).
    expect(maxBuffered).toBeLessThanOrEqual(HARD_BYTES + MAX_MESSAGE_BYTES);

    // The legit client still gets its stream.
    t.platform.bus.publish(`quote.${symbols[1]}`, tick(symbols[1]!, 4242));
    await eventually(() => messages.some((m) => m.channel === watched && (m.data as { last: number }).last === 4242), 'the legit client’s quote');
    client.close();

    // Once it reads, the abuser learns why it was closed.
    abuser.socket.resume();
    await eventually(() => abuser.closed() !== undefined, 'the close frame', 20_000);
    expect(abuser.closed()).toMatchObject({ code: CloseCode.POLICY_VIOLATION, reason: expect.stringMatching(/send buffer/) });
  });
});
