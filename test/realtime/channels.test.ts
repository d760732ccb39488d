/** The channel registry: state channels conflate at the source and dispatch once per flush; event channels deliver at once. */
import { describe, expect, it } from 'vitest';
import { MessageBus } from '../../src/kernel/bus.ts';
import { ChannelRegistry } from '../../src/realtime/channels.ts';
import type { Outgoing } from '../../src/realtime/codec.ts';
import type { Connection } from '../../src/realtime/connection.ts';
import { RealtimeMetrics } from '../../src/realtime/metrics.ts';
import { linkBusToStream } from '../../src/stream/bus-link.ts';
import { MemoryEventStream } from '../../src/stream/memory-stream.ts';
import { publishPartial } from '../support/bus-events.ts';

/** Records what the registry hands a connection (only `deliver` is used by the registry). */
function recorder() {
  const received: { message: Outgoing; conflate: boolean }[] = [];
  const connection = { deliver: (message: Outgoing, conflate: boolean) => received.push({ message, conflate }) } as unknown as Connection;
  return { connection, received };
}

function setup() {
  const bus = new MessageBus();
  const metrics = new RealtimeMetrics();
  const stream = new MemoryEventStream({ historySize: 100, retentionMs: 60_000 }, 'here');
  linkBusToStream(bus, stream, 'here');
  const registry = new ChannelRegistry(bus, () => 5, metrics, stream);
  return { bus, metrics, registry, stream };
}

const tick = (last: number, ts: number) => ({ id: 1, symbol: 'AAA', bid: last - 1, ask: last + 1, last, size: 1, ts, bidSize: 1, askSize: 1 });

describe('ChannelRegistry', () => {
  it('keeps only the latest quote per channel until dispatch, and shares one message across subscribers', () => {
    const { bus, metrics, registry } = setup();
    const a = recorder();
    const b = recorder();
    registry.add('quotes:AAA', a.connection);
    registry.add('quotes:AAA', b.connection);
    for (let i = 1; i <= 10; i++) bus.publish('quote.AAA', tick(100 + i, 1000 + i));
    expect(a.received).toHaveLength(0); // nothing before the flush's dispatch
    expect(metrics.conflated).toBe(18); // 9 replaced × 2 subscribers

    registry.dispatch();
    expect(a.received).toHaveLength(1);
    expect(a.received[0]!.conflate).toBe(true);
    expect(a.received[0]!.message.message).toEqual({ channel: 'quotes:AAA', seq: 10, data: tick(110, 1010) });
    expect(a.received[0]!.message.ts).toBe(1010); // tick-to-send is measured from the tick's own time
    expect(b.received[0]!.message).toBe(a.received[0]!.message); // encoded once, whatever the fan-out

    registry.dispatch(); // nothing changed since
    expect(a.received).toHaveLength(1);
  });

  it('does not resend a pending change to a subscriber whose snapshot already holds it, but sends newer ones', () => {
    const { bus, registry } = setup();
    const early = recorder();
    const late = recorder();
    registry.add('quotes:AAA', early.connection);
    bus.publish('quote.AAA', tick(100, 1));
    const joined = registry.add('quotes:AAA', late.connection);
    expect({ seq: joined.seq, last: registry.last('quotes:AAA') }).toEqual({ seq: 1, last: tick(100, 1) }); // the snapshot
    registry.dispatch();
    expect(early.received.map((r) => r.message.message.seq)).toEqual([1]);
    expect(late.received).toHaveLength(0);

    bus.publish('quote.AAA', tick(101, 2));
    registry.add('quotes:AAA', recorder().connection);
    bus.publish('quote.AAA', tick(102, 3)); // newer than every snapshot: everyone gets it
    registry.dispatch();
    expect(late.received.map((r) => r.message.message.seq)).toEqual([3]);
  });

  it('hands event-channel messages (orders, bars) to subscribers at once, every one, in order; orders carry the stream offset and epoch', () => {
    const { bus, registry, stream } = setup();
    const orders = recorder();
    const bars = recorder();
    registry.add('orders:7', orders.connection);
    registry.add('bars:AAA:1m', bars.connection);
    publishPartial(bus, 'order.7', { id: 1 });
    publishPartial(bus, 'fill.7', { id: 2 });
    publishPartial(bus, 'order.7', { id: 3 });
    publishPartial(bus, 'bar.1m.AAA', { ts: 0, close: 9 });
    expect(orders.received.map((r) => [r.message.message.seq, r.message.message.event, r.conflate])).toEqual([
      [1, 'order', false],
      [2, 'fill', false],
      [3, 'order', false],
    ]);
    expect(bars.received.map((r) => r.message.message)).toEqual([{ channel: 'bars:AAA:1m', seq: 1, data: { ts: 0, close: 9 } }]);
    expect(orders.received[1]!.message.message).toEqual({ channel: 'orders:7', seq: 2, offset: 2, epoch: stream.epoch, event: 'fill', data: { id: 2 } });
  });

  it('numbers events on channels without subscribers, so sequences continue across resubscriptions', () => {
    const { bus, registry } = setup();
    const first = recorder();
    registry.add('quotes:AAA', first.connection);
    registry.remove('quotes:AAA', first.connection);
    bus.publish('quote.AAA', tick(100, 1));
    bus.publish('quote.AAA', tick(101, 2));
    registry.dispatch();
    expect(registry.add('quotes:AAA', recorder().connection).seq).toBe(2);
    expect(first.received).toHaveLength(0);
  });
});
