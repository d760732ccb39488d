/**
 * Channels and who listens to them. The gateway holds one bus subscription per topic family
 * (`quote.*`, `bar.1m.*`, `order.*`, `fill.*`, `portfolio.*`), never one per connection: an event is
 * looked up by channel name and handed to that channel's subscribers, encoded at most once per
 * format. Each channel numbers its events; a channel's state outlives its subscribers so numbering
 * continues across resubscriptions. Channels exist only for real symbols and owned accounts (the
 * gateway checks before adding), so their number is bounded.
 */
import type { MessageBus } from '../kernel/bus.ts';
import { Outgoing } from './codec.ts';
import type { Connection } from './connection.ts';

export interface Channel {
  readonly name: string;
  /** State channels (quotes, portfolio) conflate; event channels (orders, bars) never do. */
  readonly conflate: boolean;
  seq: number;
  /** The last payload published: the quote snapshot when this instance's book is not the source (remote feed). */
  last: unknown;
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
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    bus: MessageBus,
    private readonly now: () => number,
  ) {
    for (const route of ROUTES) {
      const cut = route.topic.length;
      this.unsubscribers.push(
        bus.subscribe<unknown>(route.topic + '*', (data, topic) => {
          // Quotes carry their tick time (tick-to-send latency); other events are timed from arrival.
          const ts = route.topic === 'quote.' ? (data as { ts: number }).ts : this.now();
          this.publish(route.channel + topic.slice(cut) + route.suffix, route.event, data, ts);
        }),
      );
    }
  }

  /** Numbers an event and hands it to the channel's subscribers; a channel nobody ever subscribed to costs one Map miss. */
  publish(name: string, event: string | undefined, data: unknown, ts: number): void {
    const channel = this.channels.get(name);
    if (!channel) return;
    const seq = ++channel.seq;
    channel.last = data;
    if (channel.subscribers.size === 0) return;
    const message = new Outgoing(event === undefined ? { channel: name, seq, data } : { channel: name, seq, event, data }, ts);
    for (const subscriber of channel.subscribers) subscriber.deliver(message, channel.conflate);
  }

  /** Adds a subscriber and returns the channel (its `seq` is the snapshot's sequence). */
  add(name: string, connection: Connection): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = { name, conflate: conflates(name), seq: 0, last: undefined, subscribers: new Set() };
      this.channels.set(name, channel);
    }
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
