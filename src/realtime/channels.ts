/**
 * Channels and who listens to them. The gateway holds one bus subscription per topic family
 * (`quote.*`, `bar.1m.*`, `order.*`, `fill.*`, `portfolio.*`), never one per connection. Each channel
 * numbers its events; a channel's state outlives its subscribers so numbering continues across
 * resubscriptions. Channels exist only for real symbols and owned accounts (the gateway checks
 * before adding), so their number is bounded.
 *
 * State channels (quotes, portfolio) conflate at the source: a publish only records the latest
 * payload and marks the channel changed (O(1) per tick, whatever the subscriber count); `dispatch()`,
 * once per flush, encodes each changed channel's latest event once and hands the shared message to
 * its subscribers — per-flush work is O(changed channels × subscribers), not O(ticks × subscribers).
 * Event channels (orders, bars) hand every event to their subscribers at once, in order.
 */
import type { MessageBus } from '../kernel/bus.ts';
import { Outgoing } from './codec.ts';
import type { Connection } from './connection.ts';
import type { RealtimeMetrics } from './metrics.ts';

export interface Channel {
  readonly name: string;
  /** State channels (quotes, portfolio) conflate; event channels (orders, bars) never do. */
  readonly conflate: boolean;
  seq: number;
  /** The last payload published: the quote snapshot when this instance's book is not the source (remote feed). */
  last: unknown;
  /** When `last` happened (state channels: the time of the event waiting for dispatch). */
  lastTs: number;
  /** A state channel published since the last dispatch. */
  changed: boolean;
  /** Subscribers that joined after the pending change: their snapshot already holds it. */
  joinedSinceChange: Set<Connection> | undefined;
  readonly subscribers: Set<Connection>;
}

/** Bus topic prefix → channel name prefix, the conflation rule and the event name (where a channel mixes kinds). */
const ROUTES = [
  { topic: 'quote.', channel: 'quotes:', suffix: '', conflate: true, event: undefined },
  { topic: 'bar.1m.', channel: 'bars:', suffix: ':1m', conflate: false, event: undefined },
  { topic: 'order.', channel: 'orders:', suffix: '', conflate: false, event: 'order' },
  { topic: 'fill.', channel: 'orders:', suffix: '', conflate: false, event: 'fill' },
  { topic: 'portfolio.', channel: 'portfolio:', suffix: '', conflate: true, event: undefined },
] as const;

/** Whether a channel name is a state channel (conflated). */
export function conflates(channel: string): boolean {
  return channel.startsWith('quotes:') || channel.startsWith('portfolio:');
}

export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly changed: Channel[] = [];
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    bus: MessageBus,
    private readonly now: () => number,
    private readonly metrics: RealtimeMetrics,
  ) {
    for (const route of ROUTES) {
      const cut = route.topic.length;
      this.unsubscribers.push(
        bus.subscribe(`${route.topic}*`, (data, topic) => {
          // Quotes carry their tick time (tick-to-send latency); other events are timed from arrival.
          const ts = route.topic === 'quote.' ? (data as { ts: number }).ts : this.now();
          this.publish(route.channel + topic.slice(cut) + route.suffix, route.event, data, ts);
        }),
      );
    }
  }

  /**
   * Numbers an event. State channels keep only the latest for the next dispatch (a replaced one
   * counts as conflated for each subscriber); event channels hand it to their subscribers now. A
   * channel nobody ever subscribed to costs one Map miss.
   */
  publish(name: string, event: string | undefined, data: unknown, ts: number): void {
    const channel = this.channels.get(name);
    if (!channel) return;
    const seq = ++channel.seq;
    channel.last = data;
    channel.lastTs = ts;
    if (channel.subscribers.size === 0) return;
    if (channel.conflate) {
      if (channel.changed) this.metrics.conflated += channel.subscribers.size;
      else {
        channel.changed = true;
        this.changed.push(channel);
      }
      channel.joinedSinceChange = undefined;
      return;
    }
    const message = new Outgoing(event === undefined ? { channel: name, seq, data } : { channel: name, seq, event, data }, ts);
    for (const subscriber of channel.subscribers) subscriber.deliver(message, false);
  }

  /** Hands each state channel changed since the last call its latest event, one shared message per channel. */
  dispatch(): void {
    for (const channel of this.changed) {
      channel.changed = false;
      const skip = channel.joinedSinceChange;
      channel.joinedSinceChange = undefined;
      if (channel.subscribers.size === 0) continue;
      const message = new Outgoing({ channel: channel.name, seq: channel.seq, data: channel.last }, channel.lastTs);
      for (const subscriber of channel.subscribers) if (!skip?.has(subscriber)) subscriber.deliver(message, true);
    }
    this.changed.length = 0;
  }

  /** Adds a subscriber and returns the channel (its `seq` is the snapshot's sequence). */
  add(name: string, connection: Connection): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = { name, conflate: conflates(name), seq: 0, last: undefined, lastTs: 0, changed: false, joinedSinceChange: undefined, subscribers: new Set() };
      this.channels.set(name, channel);
    }
    if (channel.changed) (channel.joinedSinceChange ??= new Set()).add(connection);
    channel.subscribers.add(connection);
    return channel;
  }

  /** The last payload published on a channel (undefined before the first). */
  last(name: string): unknown {
    return this.channels.get(name)?.last;
  }

  remove(name: string, connection: Connection): void {
    this.channels.get(name)?.subscribers.delete(connection);
  }

  /** Total subscriptions across connections. */
  subscriptionCount(): number {
    let n = 0;
    for (const channel of this.channels.values()) n += channel.subscribers.size;
    return n;
  }

  close(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
  }
}
