/**
 * BentoCache's L2 layer on our Redis link: binary values (MessagePack, maybe deflated) through
 * GET/SET PX with Buffers. BentoCache's own Redis driver reads values as UTF-8 strings, which would
 * corrupt binary frames, and has no command timeout.
 */
import type { CreateDriverResult, L2CacheDriver } from 'bentocache/types';
import { BaseDriver } from 'bentocache/drivers/base_driver';
import { Cluster } from 'ioredis';
import { primaries } from '../kernel/redis-client.ts';
import type { RedisLink } from './redis-link.ts';

/** @param enabled the `cache.l2` flag: when off, reads miss and writes succeed without Redis (the bus still runs). */
export function redisL2(link: RedisLink, enabled: () => boolean): CreateDriverResult<L2CacheDriver> {
  return { options: {}, factory: (config: { prefix?: string }) => new RedisL2Driver(link, enabled, config.prefix) };
}

class RedisL2Driver extends BaseDriver implements L2CacheDriver {
  readonly type = 'l2' as const;

  constructor(
    private readonly link: RedisLink,
    private readonly enabled: () => boolean,
    prefix: string | undefined,
  ) {
    super({ prefix });
  }

  namespace(namespace: string): RedisL2Driver {
    return new RedisL2Driver(this.link, this.enabled, this.createNamespacePrefix(namespace));
  }

  // Typed as strings by BentoCache; our serializer produces and consumes Buffers.
  async get(key: string): Promise<string | undefined> {
    if (!this.enabled()) return undefined;
    const value = await this.link.getBuffer(this.getItemKey(key));
    return (value ?? undefined) as unknown as string | undefined;
  }

  async pull(key: string): Promise<string | undefined> {
    if (!this.enabled()) return undefined;
    const value = await this.link.run((r) => r.getdelBuffer(this.getItemKey(key)));
    return (value ?? undefined) as unknown as string | undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    if (!this.enabled()) return true;
    const k = this.getItemKey(key);
    const result = await (ttl ? this.link.setBuffer(k, value as unknown as Buffer, Math.ceil(ttl)) : this.link.run((r) => r.set(k, value)));
    return result === 'OK';
  }

  /** Removes this namespace's keys (SCAN + UNLINK in pages on every primary, never KEYS). */
  async clear(): Promise<void> {
    for (const node of primaries(this.link.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await this.link.run(() => node.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000));
        await this.unlink(keys);
        cursor = next;
      } while (cursor !== '0');
    }
  }

  async delete(key: string): Promise<boolean> {
    return (await this.unlink([this.getItemKey(key)])) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    await this.unlink(keys.map((k) => this.getItemKey(k)));
    return true;
  }

  /** One UNLINK, or on a cluster one per key (a command's keys must share a slot there; they are pipelined). */
  private async unlink(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const { redis } = this.link;
    if (!(redis instanceof Cluster)) return this.link.run((r) => r.unlink(...keys));
    const counts = await Promise.all(keys.map((k) => this.link.run((r) => r.unlink(k))));
    return counts.reduce((a, b) => a + b, 0);
  }

  async disconnect(): Promise<void> {}
}
