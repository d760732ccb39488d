/**
 * Channels and who listens to them. The gateway holds one bus subscription per market topic family
 * (`quote.*`, `bar.1m.*`) and one on the event stream (orders and portfolio channels), never one
 * per connection. Market channels number their events per instance; a channel's state outlives its
 * subscribers so numbering continues across resubscriptions. Recoverable channels (orders,
 * portfolio) take the stream's offset as their sequence and carry its epoch, the same on every
 * instance, so a client can resume on any of them. Channels exist only for real symbols and owned
 * accounts (the gateway checks before adding), so their number is bounded.
 *
 * State channels (quotes) conflate at the source: a publish only records the latest
 * payload and marks the channel changed (O(1) per tick, whatever the subscriber count); `dispatch()`,
 * once per flush, encodes each changed channel's latest event once and hands the shared message to
 * its subscribers — per-flush work is O(changed channels × subscribers), not O(ticks × subscribers).
 * Event channels (orders, portfolio, bars) hand every event to their subscribers at once, in order.
 */
import type { MessageBus } from '../kernel/bus.ts';
import type { EventStream, StreamEntry } from '../stream/event-stream.ts';
import { Outgoing } from './codec.ts';
import type { Connection } from './connection.ts';
import type { RealtimeMetrics } from './metrics.ts';
import { METRICS_CHANNEL } from './protocol.ts';

export interface Channel {
  readonly name: string;
  /** State channels (quotes) conflate; event channels (orders, portfolio, bars) never do. */
  readonly conflate: boolean;
  /** The last event's number: the stream offset on recoverable channels. */
  seq: number;
  /** Recoverable channels: the stream epoch of `seq`. */
  epoch: string | undefined;
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

/** Bus topic prefix → channel name prefix and the conflation rule, for the market channels. */
const ROUTES = [
  { topic: 'quote.', channel: 'quotes:', suffix: '', conflate: true },
  { topic: 'bar.1m.', channel: 'bars:', suffix: ':1m', conflate: false },
] as const;

/** The event name of a stream topic on a channel that mixes kinds (`orders`: order and fill events). */
const STREAM_EVENTS: Record<string, string> = { 'order.': 'order', 'fill.': 'fill' };

/** Whether a channel name is a state channel (conflated): quotes and the metrics snapshot. */
export function conflates(channel: string): boolean {
  return channel.startsWith('quotes:') || channel === METRICS_CHANNEL;
}

/** Channels whose events come from the event stream, with offsets a client can recover from. */
export function recoverable(channel: string): boolean {
  return channel.startsWith('orders:') || channel.startsWith('portfolio:');
}

/** The channel message of a stream entry. */
export function streamMessage(entry: StreamEntry): { channel: string; seq: number; offset: number; epoch: string; event?: string; data: unknown } {
  const event = STREAM_EVENTS[entry.topic.slice(0, entry.topic.indexOf('.') + 1)];
  const base = { channel: entry.channel, seq: entry.offset, offset: entry.offset, epoch: entry.epoch };
  return event === undefined ? { ...base, data: entry.data } : { ...base, event, data: entry.data };
}

export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly changed: Channel[] = [];
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    bus: MessageBus,
    private readonly now: () => number,
    private readonly metrics: RealtimeMetrics,
    stream: Pick<EventStream, 'onEntry'>,
  ) {
    this.unsubscribers.push(stream.onEntry((entry) => this.publishEntry(entry)));
    for (const route of ROUTES) {
      const cut = route.topic.length;
      this.unsubscribers.push(
        bus.subscribe(`${route.topic}*`, (data, topic) => {
          // Quotes carry their tick time (tick-to-send latency); other events are timed from arrival.
          const ts = route.topic === 'quote.' ? (data as { ts: number }).ts : this.now();
          this.publish(route.channel + topic.slice(cut) + route.suffix, data, ts);
        }),
      );
    }
  }

  /**
   * An entry of the event stream, in its channel's offset order: handed to the channel's subscribers
   * now, numbered by its offset. A replayed entry (an offset already seen in the same epoch) is skipped.
   */
  publishEntry(entry: StreamEntry): void {
    const channel = this.channels.get(entry.channel);
    if (!channel) return;
    if (channel.epoch === entry.epoch && entry.offset <= channel.seq) return;
    channel.seq = entry.offset;
    channel.epoch = entry.epoch;
    if (channel.subscribers.size === 0) return;
    const message = new Outgoing(streamMessage(entry), this.now());
    for (const subscriber of channel.subscribers) subscriber.deliver(message, false);
  }

  /**
   * Numbers an event. State channels keep only the latest for the next dispatch (a replaced one
   * counts as conflated for each subscriber); event channels hand it to their subscribers now. A
   * channel nobody ever subscribed to costs one Map miss.
   */
  publish(name: string, data: unknown, ts: number): void {
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
    const message = new Outgoing({ channel: name, seq, data }, ts);
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
      channel = { name, conflate: conflates(name), seq: 0, epoch: undefined, last: undefined, lastTs: 0, changed: false, joinedSinceChange: undefined, subscribers: new Set() };
      this.channels.set(name, channel);
    }
    if (channel.changed) (channel.joinedSinceChange ??= new Set()).add(connection);
    channel.subscribers.add(connection);
    return channel;
  }

  /** Whether anyone subscribes to the channel (the metrics feed is built only then). */
  watched(name: string): boolean {
    return (this.channels.get(name)?.subscribers.size ?? 0) > 0;
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
