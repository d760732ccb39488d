/**
 * The documented /ws protocol holds: the subprotocol names docs/websocket.md lists, frames sent
 * while `auth` is checked are answered after `welcome`, and the AsyncAPI document served and
 * committed is the one generated from the code's schemas, every channel's payload included.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRICE_SCALE } from '../../src/kernel/money.ts';
import { asyncApiJson } from '../../src/realtime/asyncapi.ts';
import { LiveSnapshotSchema } from '../../src/observability/live-snapshot.ts';
import { CLIENT_FRAMES, METRICS_CHANNEL, SERVER_FRAMES, SUBPROTOCOLS, type ChannelRef, type ErrorFrame, type SubscribedFrame, type WelcomeFrame } from '../../src/realtime/protocol.ts';
import { VERSION } from '../../src/version.ts';
import { pglite } from '../support/engines.ts';
import { DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { rawSocket, wsUrl } from './support.ts';

let t: TestPlatform;
let url: string;

beforeAll(async () => {
  t = await startTestPlatform(pglite);
  url = wsUrl(await t.platform.listen());
});
afterAll(() => t?.close());

describe('/ws protocol as documented', () => {
  it.each([
    ['msgpack', 'msgpack'],
    ['tachyon.v1.msgpack', 'msgpack'],
    ['json', 'json'],
    ['tachyon.v1.json', 'json'],
  ] as const)('accepts the subprotocol %s and speaks %s; welcome names the price scale', async (subprotocol, format) => {
    const raw = await rawSocket(url, { protocols: [subprotocol], headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
    expect(raw.socket.protocol).toBe(subprotocol);
    const welcome = await raw.next<WelcomeFrame>((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ format, priceScale: PRICE_SCALE });
    raw.socket.close();
  });

  it('a subscribe sent right behind auth (before welcome) is answered after welcome, not dropped', async () => {
    // A token never used yet: its check goes to the database, so the subscribe arrives while it runs.
    const fresh = await t.platform.users.create({ name: 'ws-protocol-trader', role: 'trader', openingCash: 0 });
    const raw = await rawSocket(url);
    raw.send({ type: 'auth', token: fresh.token });
    raw.send({ type: 'subscribe', id: 1, channels: ['quotes:AAPL'] });
    const subscribed = await raw.next<SubscribedFrame>((f) => f.type === 'subscribed' && f.id === 1);
    expect(subscribed.subscriptions.map((s) => s.channel)).toEqual(['quotes:AAPL']);
    expect(raw.frames.map((f) => f.type)).toEqual(['welcome', 'subscribed']);
    raw.socket.close();
  });

  it('a subscribe with no auth at all is answered by an unauthorized error frame', async () => {
    const raw = await rawSocket(url);
    raw.send({ type: 'subscribe', id: 2, channels: ['quotes:AAPL'] });
    const error = await raw.next<ErrorFrame>((f) => f.type === 'error');
    expect(error).toMatchObject({ id: 2, code: 'unauthorized' });
    raw.socket.close();
  });

  it('the committed AsyncAPI document is the generated one, served by the platform, naming every frame and every channel payload', async () => {
    const committed = readFileSync(new URL('../../docs/websocket.asyncapi.json', import.meta.url), 'utf8');
    expect(committed, 'run: node bin/run-ts.js scripts/write-asyncapi.ts').toBe(asyncApiJson(VERSION));
    const served = await t.platform.app.inject({ url: '/api/realtime/asyncapi.json' });
    expect(served.statusCode).toBe(200);
    const document = served.json<{
      asyncapi: string;
      channels: { ws: { messages: Record<string, unknown> } };
      info: { description: string };
      components: { schemas: Record<string, { properties: Record<string, unknown> }>; 'x-channel-payloads': Record<string, { $ref: string }> };
    }>();
    expect(document).toEqual(JSON.parse(committed));
    expect(document.asyncapi).toBe('3.0.0');
    expect(Object.keys(document.channels.ws.messages).sort()).toEqual([...CLIENT_FRAMES, ...SERVER_FRAMES].map((f) => f.$id).sort());
    for (const name of [...SUBPROTOCOLS.json, ...SUBPROTOCOLS.msgpack]) expect(document.info.description).toContain(name);
    // Every kind of channel has its payload described, the admin metrics snapshot included (a new kind fails to compile here until listed).
    const kinds: Record<ChannelRef['kind'], true> = { quotes: true, bars: true, orders: true, portfolio: true, metrics: true };
    const payloads = document.components['x-channel-payloads'];
    expect([...new Set(Object.keys(payloads).map((name) => /^[a-z]+/.exec(name)![0]))].sort()).toEqual(Object.keys(kinds).sort());
    const metrics = Object.entries(payloads).find(([name]) => name.startsWith(METRICS_CHANNEL))![1];
    expect(metrics.$ref).toBe(`#/components/schemas/${LiveSnapshotSchema.$id}`);
    expect(Object.keys(document.components.schemas[LiveSnapshotSchema.$id!]!.properties).sort()).toEqual(Object.keys(LiveSnapshotSchema.properties).sort());
  });
});
