import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MessageBus } from '../../src/kernel/bus.ts';
import { isBridged, streamChannelOf, topicTable } from '../../src/kernel/topics.ts';

describe('topic catalogue', () => {
  it('is the table docs/architecture.md shows', async () => {
    const doc = await readFile(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    expect(doc).toContain(topicTable());
  });

  it('decides what the pub/sub bridge forwards: market and strategy events; account events go on the event stream', () => {
    expect(['quote.BRK.B', 'bar.1m.AAPL', 'order.7', 'fill.7', 'portfolio.7', 'strategy.3'].filter(isBridged)).toEqual(['quote.BRK.B', 'bar.1m.AAPL', 'strategy.3']);
    expect(['order.7', 'fill.7', 'portfolio.7', 'quote.AAPL'].map(streamChannelOf)).toEqual(['orders:7', 'orders:7', 'portfolio:7', undefined]);
    // Every instance polls history loads itself: forwarding would invalidate once per instance.
    expect(isBridged('history.loaded')).toBe(false);
  });

  it('the bus forwards only bridged topics to an attached bridge', () => {
    const bus = new MessageBus();
    const forwarded: string[] = [];
    bus.attachBridge({ forward: (topic) => forwarded.push(topic), close: async () => {} }, isBridged);
    bus.publish('strategy.1', { userId: 1, performance: null });
    bus.publish('history.loaded', { loadId: 1 });
    expect(forwarded).toEqual(['strategy.1']);
  });
});
