/**
 * The bus that keeps every instance's L1 in step (BentoCache's Redis pub/sub transport), with
 * publishing put behind the Redis link: while Redis is away an invalidation fails at once into
 * BentoCache's retry queue instead of waiting on a dead connection, and is re-sent on reconnect.
 * Messages of one kind published in the same turn of the event loop (the writes of concurrent
 * requests) leave as one message naming all their keys: one PUBLISH instead of one per write.
 */
import type { BusDriver, CacheBusMessage, CreateBusDriverResult } from 'bentocache/types';
import { CacheBusMessageType } from 'bentocache/types';
import { redisBusDriver } from 'bentocache/drivers/redis';
import { createRedisClient } from '../kernel/redis-client.ts';
import type { RedisLink } from './redis-link.ts';

export interface GuardedBus {
  bus: CreateBusDriverResult;
  /** Tells other instances these keys were written (for the cache's own write path; BentoCache's goes through `bus`). */
  notifySet(keys: string[], namespace: string): Promise<void>;
  close(): void;
}

/** Keys per coalesced message: bounds one PUBLISH. */
const MAX_KEYS = 1_000;

/** Takes a received message before BentoCache does; true when it fully handled it (BentoCache then never sees it). */
export type BusReceiver = (message: CacheBusMessage) => boolean;

export function guardedRedisBus(link: RedisLink, receive: BusReceiver): GuardedBus {
  // lazyConnect: the transport duplicates this connection for publisher and subscriber and never uses it.
  const base = createRedisClient(link.options.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // The transport's duplicates inherit options, not listeners: give each one, or every failed reconnect
  // while Redis is away prints an "Unhandled error event" (the link's breaker already reports the outage).
  // Its publisher publishes through the link, in the pipeline of the cache's writes (so, being lazy,
  // it never connects); the subscriber never publishes.
  const duplicate = base.duplicate.bind(base) as (override?: object) => typeof base;
  base.duplicate = ((override?: object) => {
    const connection = duplicate(override).on('error', () => {});
    connection.publish = ((channel: string, message: Buffer) => link.publish(channel, message)) as typeof connection.publish;
    return connection;
  }) as typeof base.duplicate;
  const inner = redisBusDriver({ connection: base, retryQueue: { enabled: true, maxSize: 10_000, retryInterval: '1s' } });
  let coalescer: Coalescer | undefined;
  const bus: CreateBusDriverResult = {
    options: inner.options,
    factory: (config: unknown) => {
      coalescer = new Coalescer(inner.factory(config), receive);
      return coalescer.driver;
    },
  };
  return {
    bus,
    notifySet: async (keys, namespace) => {
      if (!coalescer?.channel) throw new Error('cache bus not subscribed yet');
      await coalescer.publish(coalescer.channel, { type: CacheBusMessageType.Set, keys, namespace });
    },
    close: () => base.disconnect(),
  };
}

interface Pending {
  channel: string;
  message: CacheBusMessage;
  waiters: { resolve(): void; reject(error: unknown): void }[];
}

class Coalescer {
  readonly driver: BusDriver;
  /** BentoCache's notification channel, learnt when it subscribes. */
  channel: string | undefined;
  /** Groups still taking keys, by channel, type and namespace; `queued` keeps them in creation order. */
  private readonly open = new Map<string, Pending>();
  private queued: Pending[] = [];

  constructor(
    private readonly transport: BusDriver,
    receive: BusReceiver,
  ) {
    const driver: BusDriver = {
      setId: (id) => {
        transport.setId(id);
        return driver;
      },
      onReconnect: (callback) => transport.onReconnect(callback),
      publish: (channel, message) => this.publish(channel, message as CacheBusMessage),
      subscribe: (channel, handler) => {
        this.channel = channel;
        // Every message on BentoCache's channel is a CacheBusMessage.
        const forward = handler as unknown as (message: CacheBusMessage) => void;
        return transport.subscribe(channel, (payload) => {
          const message = payload as unknown as CacheBusMessage;
          if (!receive(message)) forward(message);
        });
      },
      unsubscribe: (channel) => transport.unsubscribe(channel),
      disconnect: () => transport.disconnect(),
    };
    this.driver = driver;
  }

  /**
   * Every message tells receivers to drop or expire L1 entries (or all of them), so merging and
   * reordering them within a turn of the event loop changes nothing a receiver ends up with.
   */
  publish(channel: string, message: CacheBusMessage): Promise<void> {
    if (message.type === CacheBusMessageType.Clear) return this.send(channel, message);
    return new Promise((resolve, reject) => {
      const id = `${channel}\n${message.type}\n${message.namespace ?? ''}`;
      let group = this.open.get(id);
      if (!group || group.message.keys.length >= MAX_KEYS) {
        if (this.queued.length === 0) setImmediate(() => this.flush());
        group = { channel, message: { ...message, keys: [] }, waiters: [] };
        this.open.set(id, group);
        this.queued.push(group);
      }
      group.message.keys.push(...message.keys);
      group.waiters.push({ resolve, reject });
    });
  }

  private flush(): void {
    const groups = this.queued;
    this.queued = [];
    this.open.clear();
    for (const { channel, message, waiters } of groups) {
      this.send(channel, message).then(
        () => waiters.forEach((w) => w.resolve()),
        (error: unknown) => waiters.forEach((w) => w.reject(error)),
      );
    }
  }

  private send(channel: string, message: CacheBusMessage): Promise<void> {
    // The transport publishes through link.publish: behind the link's breaker, and a PUBLISH Redis
    // does not answer within the link's command timeout fails (into the retry queue) rather than
    // wait. (A timeout policy here as well cost an AbortController and a DOMException per message.)
    return this.transport.publish(channel, message);
  }
}
