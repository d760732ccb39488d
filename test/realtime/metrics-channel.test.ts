/** The admin `metrics` channel: a full snapshot on subscribe, live updates while watched, nothing built while nobody watches, refused to traders. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LiveMetrics } from '../../src/observability/live-metrics.ts';
import { Value } from '@sinclair/typebox/value';
import { LiveSnapshotSchema, type LiveSnapshot } from '../../src/observability/live-snapshot.ts';
import type { BatchFrame, ErrorFrame, SubscribedFrame } from '../../src/realtime/protocol.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { rawSocket, wsUrl } from './support.ts';

let platform: TestPlatform;
let base: string;

beforeAll(async () => {
  platform = await startTestPlatform(pglite);
  base = await platform.platform.listen();
}, 60_000);

afterAll(async () => {
  await platform?.close();
});

/** The snapshot is what its schema (and so the AsyncAPI document) says: the right types, and no field it does not name. */
function expectSchema(snapshot: LiveSnapshot): void {
  expect([...Value.Errors(LiveSnapshotSchema, snapshot)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  expect(Value.Clean(LiveSnapshotSchema, structuredClone(snapshot))).toEqual(snapshot);
}

const sum = (columns: LiveSnapshot['heatmap']['columns']) => columns.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0);

describe('metrics channel', () => {
  it('streams the performance snapshot to an admin, and builds none while nobody watches', async () => {
    const built = vi.spyOn(LiveMetrics.prototype, 'snapshot');
    for (let i = 0; i < 20; i++) await fetch(`${base}/api/health`);
    const ws = await rawSocket(wsUrl(base), { headers: platform.admin });
    ws.send({ type: 'subscribe', id: 1, channels: ['metrics'] });
    const subscribed = await ws.next<SubscribedFrame>((f) => f.type === 'subscribed');
    const first = subscribed.subscriptions[0]!.snapshot as LiveSnapshot;
    expect(subscribed.subscriptions[0]!.channel).toBe('metrics');
    expect(first.instance).toBe(platform.platform.instanceId);
    // The full heat map holds every request recorded so far, in buckets that match the bounds.
    expect(first.heatmap.columns.every((c) => c.counts.length === first.heatmap.boundsMs.length + 1)).toBe(true);
    expect(sum(first.heatmap.columns)).toBeGreaterThanOrEqual(20);
    expect(first.routes.map((r) => r.route)).toContain('/api/health');
    expect(first.connections.websocket).toBe(1);
    expect(first.memory.rssBytes).toBeGreaterThan(0);
    expect(Object.keys(first.cache).length).toBeGreaterThan(0);
    expect(first.loadTest).toBeNull();
    expectSchema(first);

    // Updates follow without asking.
    const from = ws.frames.length;
    for (let i = 0; i < 30; i++) await fetch(`${base}/api/health`);
    const updated = await ws.next<BatchFrame>((f) => f.type === 'batch' && (f.messages.at(-1)!.data as LiveSnapshot).http.ratePerSecond > 0 && sum((f.messages.at(-1)!.data as LiveSnapshot).heatmap.columns) > 0, from);
    const update = updated.messages.at(-1)!.data as LiveSnapshot;
    expect(updated.messages.at(-1)!.channel).toBe('metrics');
    // An update carries only the current and previous heat-map slots.
    expect(update.heatmap.columns.length).toBeLessThanOrEqual(2);
    expect(update.ts).toBeGreaterThan(first.ts);
    expectSchema(update);

    ws.send({ type: 'unsubscribe', id: 2, channels: ['metrics'] });
    await ws.next((f) => f.type === 'unsubscribed');
    const calls = built.mock.calls.length;
    // Three ticks' worth with nobody watching: not one more snapshot.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(built.mock.calls.length).toBe(calls);
    built.mockRestore();
    ws.socket.close();
  }, 30_000);

  it('is unknown to a trader', async () => {
    const ws = await rawSocket(wsUrl(base), { headers: platform.trader });
    ws.send({ type: 'subscribe', id: 1, channels: ['metrics'] });
    const error = await ws.next<ErrorFrame>((f) => f.type === 'error');
    expect(error).toMatchObject({ code: 'unknown_channel', id: 1 });
    const answer = await ws.next<SubscribedFrame>((f) => f.type === 'subscribed');
    expect(answer.subscriptions).toEqual([]);
    ws.socket.close();
  });
});
