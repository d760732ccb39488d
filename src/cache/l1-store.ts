/**
 * L1: one in-process LRU bounded in bytes, shared by every data class (a class's keys carry its
 * prefix). It holds BentoCache's decoded entries, not serialized strings, so a hit costs no
 * parsing and the tiered cache can read it synchronously (its fast path). Sizes are estimated at
 * insert, since a decoded object has no byte length of its own.
 */
import { LRUCache } from 'lru-cache';
import type { L1CacheDriver, CreateDriverResult } from 'bentocache/types';
import { BaseDriver } from 'bentocache/drivers/base_driver';

/** What BentoCache stores per key when L1 serialization is off. */
export interface L1Item {
  value: unknown;
  logicalExpiration: number | undefined;
  createdAt: number;
  tags?: string[];
}

export class L1Store {
  readonly lru: LRUCache<string, L1Item>;
  readonly decode: (frame: Buffer) => unknown;
  evictions = 0;

  /** @param decode turns an L2 frame back into an entry (see L1Driver.set). */
  constructor(maxBytes: number, maxEntries: number, decode: (frame: Buffer) => unknown) {
    this.decode = decode;
    this.lru = new LRUCache<string, L1Item>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (item) => Math.max(1, estimateBytes(item.value)),
      // Date.now, not performance.now: the same clock as BentoCache's expirations (and tests' fake clock).
      perf: { now: () => Date.now() },
      ttlResolution: 0,
      dispose: (_item, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** The driver BentoCache builds its L1 layer from (serialization off: entries stay objects). */
  driver(): CreateDriverResult<L1CacheDriver> {
    return { options: { serialize: false }, factory: (config: { prefix?: string }) => new L1Driver(this.lru, this.decode, config.prefix) };
  }
}

class L1Driver extends BaseDriver implements L1CacheDriver {
  readonly type = 'l1' as const;

  constructor(
    private readonly lru: LRUCache<string, L1Item>,
    private readonly decode: (frame: Buffer) => unknown,
    prefix: string | undefined,
  ) {
    super({ prefix });
  }

  namespace(namespace: string): L1Driver {
    return new L1Driver(this.lru, this.decode, this.createNamespacePrefix(namespace));
  }

  // BentoCache types L1 values as strings; with `serialize: false` they are L1Item objects.
  get(key: string): string | undefined {
    return this.lru.get(this.getItemKey(key)) as unknown as string | undefined;
  }

  pull(key: string): string | undefined {
    const value = this.get(key);
    this.delete(key);
    return value;
  }

  set(key: string, value: string, ttl?: number): boolean {
    // Entries BentoCache copies up from L2 arrive still serialized (it re-serializes them with the
    // L2 serializer even when L1 serialization is off): decode once here, never on reads.
    const item = (Buffer.isBuffer(value) ? this.decode(value) : value) as L1Item;
    this.lru.set(this.getItemKey(key), item, { ttl });
    return true;
  }

  getRemainingTtl(key: string): number {
    return this.lru.getRemainingTTL(this.getItemKey(key));
  }

  clear(): void {
    const prefix = `${this.prefix}:`;
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) this.lru.delete(key);
  }

  delete(key: string): boolean {
    return this.lru.delete(this.getItemKey(key));
  }

  deleteMany(keys: string[]): boolean {
    for (const key of keys) this.delete(key);
    return true;
  }

  async disconnect(): Promise<void> {}
}

/** Approximate V8 heap bytes of a decoded value: headers, 8-byte slots, string payloads. */
export function estimateBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length;
    case 'number':
    case 'boolean':
    case 'bigint':
      return 8;
    case 'object': {
      if (value === null) return 8;
      if (ArrayBuffer.isView(value)) return 64 + value.byteLength;
      if (Array.isArray(value)) {
        let n = 16 + 8 * value.length;
        for (const item of value) n += estimateBytes(item);
        return n;
      }
      let n = 24;
      for (const key in value) n += 8 + estimateBytes((value as Record<string, unknown>)[key]);
      return n;
    }
    default:
      return 8;
  }
}
