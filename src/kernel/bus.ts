/**
 * In-process message bus: synchronous topic pub/sub, the spine the engines talk through
 * (Nautilus-style). Handlers run in publish order on the caller's tick, so a publisher sees
 * every in-process subscriber's effects before it continues. In scaled mode a bridge (Redis
 * pub/sub) forwards the topics the catalogue marks bridged between instances.
 * `publish` and `subscribe` are typed by the topic catalogue (topics.ts): a topic outside it does
 * not compile, and a subscriber receives the payload type its topic declares.
 */
import type { PayloadOf, Topic, TopicPattern } from './topics.ts';

/** `remote`: the message came from another instance through the bridge (it was handled there already). */
export type Handler<T = unknown> = (message: T, topic: string, remote: boolean) => void;

export interface BusBridge {
  /** Forwards a locally published message to other instances. */
  forward(topic: string, message: unknown): void;
  close(): Promise<void>;
}

export class MessageBus {
  private readonly exact = new Map<string, Set<Handler>>();
  private readonly prefixes = new Map<string, Set<Handler>>();
  private bridge: { bridge: BusBridge; matches: (topic: string) => boolean } | undefined;
  private readonly onHandlerError: (error: unknown, topic: string) => void;

  constructor(onHandlerError: (error: unknown, topic: string) => void = () => {}) {
    this.onHandlerError = onHandlerError;
  }

  /** Subscribes to a topic; a pattern ending in `*` matches every topic with that prefix. Returns the unsubscribe function. */
  subscribe<P extends TopicPattern>(pattern: P, handler: Handler<PayloadOf<P>>): () => void {
    const isPrefix = pattern.endsWith('*');
    const table = isPrefix ? this.prefixes : this.exact;
    const key = isPrefix ? pattern.slice(0, -1) : pattern;
    let set = table.get(key);
    if (!set) table.set(key, (set = new Set()));
    set.add(handler as Handler);
    return () => {
      set.delete(handler as Handler);
      if (set.size === 0) table.delete(key);
    };
  }

  hasSubscribers(topic: string): boolean {
    if (this.exact.has(topic)) return true;
    for (const prefix of this.prefixes.keys()) if (topic.startsWith(prefix)) return true;
    return false;
  }

  /** Publishes locally and, when a bridge is attached and the topic is bridged, to other instances. */
  publish<T extends Topic>(topic: T, message: PayloadOf<T>): void {
    this.dispatch(topic, message, false);
    if (this.bridge?.matches(topic)) this.bridge.bridge.forward(topic, message);
  }

  /** Delivers a message that arrived from another instance (never re-forwarded; decoded, so untyped). */
  deliver(topic: string, message: unknown): void {
    this.dispatch(topic, message, true);
  }

  attachBridge(bridge: BusBridge, matches: (topic: string) => boolean): void {
    this.bridge = { bridge, matches };
  }

  private dispatch(topic: string, message: unknown, remote: boolean): void {
    const direct = this.exact.get(topic);
    if (direct) for (const handler of direct) this.invoke(handler, message, topic, remote);
    if (this.prefixes.size > 0) {
      for (const [prefix, handlers] of this.prefixes) {
        if (!topic.startsWith(prefix)) continue;
        for (const handler of handlers) this.invoke(handler, message, topic, remote);
      }
    }
  }

  private invoke(handler: Handler, message: unknown, topic: string, remote: boolean): void {
    try {
      handler(message, topic, remote);
    } catch (error) {
      // One faulty subscriber must not stop delivery to the others nor the publisher.
      this.onHandlerError(error, topic);
    }
  }
}
