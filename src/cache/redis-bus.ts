/**
 * The bus that keeps every instance's L1 in step (BentoCache's Redis pub/sub transport), with
 * publishing put behind the Redis link: while Redis is away an invalidation fails at once into
 * BentoCache's retry queue instead of waiting on a dead connection, and is re-sent on reconnect.
 */
import { Redis } from 'ioredis';
import type { BusDriver, CreateBusDriverResult } from 'bentocache/types';
import { redisBusDriver } from 'bentocache/drivers/redis';
import type { RedisLink } from './redis-link.ts';

export function guardedRedisBus(link: RedisLink): { bus: CreateBusDriverResult; close(): void } {
  // lazyConnect: the transport duplicates this connection for publisher and subscriber and never uses it.
  const base = new Redis(link.options.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // The transport's duplicates inherit options, not listeners: give each one, or every failed reconnect
  // while Redis is away prints an "Unhandled error event" (the link's breaker already reports the outage).
  const duplicate = base.duplicate.bind(base);
  base.duplicate = (override) => duplicate(override).on('error', () => {});
  const inner = redisBusDriver({ connection: base, retryQueue: { enabled: true, maxSize: 10_000, retryInterval: '1s' } });
  const bus: CreateBusDriverResult = {
    options: inner.options,
    factory: (config: unknown) => guard(inner.factory(config), link),
  };
  return { bus, close: () => base.disconnect() };
}

function guard(transport: BusDriver, link: RedisLink): BusDriver {
  const guarded: BusDriver = {
    setId: (id) => {
      transport.setId(id);
      return guarded;
    },
    onReconnect: (callback) => transport.onReconnect(callback),
    publish: (channel, message) => link.run(() => withTimeout(transport.publish(channel, message), link.options.timeoutMs)),
    subscribe: (channel, handler) => transport.subscribe(channel, handler),
    unsubscribe: (channel) => transport.unsubscribe(channel),
    disconnect: () => transport.disconnect(),
  };
  return guarded;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis bus publish timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
