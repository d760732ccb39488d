import type { MessageBus } from '../../src/kernel/bus.ts';
import type { PayloadOf, Topic } from '../../src/kernel/topics.ts';

/**
 * Publishes a payload holding only the fields the code under test reads (channels, the gateway
 * and the bridge forward payloads untouched): the test states what matters, not a whole event.
 */
export function publishPartial(bus: MessageBus, topic: Topic, fields: object): void {
  bus.publish(topic, fields as PayloadOf<Topic>);
}
