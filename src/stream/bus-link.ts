/**
 * Puts the bus's streamed topics (the catalogue's `stream` column: order, fill and portfolio
 * events) on the event stream, and hands other instances' entries to this instance's bus as
 * remote events. The WebSocket gateway reads the stream itself (it needs the offsets).
 */
import type { MessageBus } from '../kernel/bus.ts';
import { STREAMED_TOPICS, streamChannelOf, type TopicPattern } from '../kernel/topics.ts';
import type { EventStream } from './event-stream.ts';

export function linkBusToStream(bus: MessageBus, stream: EventStream, origin: string): () => void {
  const unsubscribers = STREAMED_TOPICS.map(({ prefix }) =>
    bus.subscribe(`${prefix}*` as TopicPattern, (data, topic, remote) => {
      if (!remote) stream.append(streamChannelOf(topic)!, topic, data);
    }),
  );
  unsubscribers.push(
    stream.onEntry((entry) => {
      if (entry.origin !== origin) bus.deliver(entry.topic, entry.data);
    }),
  );
  return () => {
    for (const unsubscribe of unsubscribers) unsubscribe();
  };
}
