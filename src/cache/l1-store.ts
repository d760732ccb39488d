/**
 * L1: one in-process LRU bounded in bytes, shared by every data class (a class's keys carry its
 * prefix). It holds BentoCache's decoded entries, not serialized strings, so a hit costs no
 * parsing and the tiered cache can read it synchronously (its fast path). Sizes are estimated at
 * insert, since a decoded object has no byte length of its own.
 *
 * Eviction is LRU for every class; classes whose policy says `lfu` also pass TinyLFU admission: when
 * the L1 is full, a new key of such a class enters only if the frequency sketch has seen it read more
 * often than the least recently used entry it would push out (a one-off read, e.g. a scan over many
 * symbols, then cannot flush what is read all day). Reads are recorded only while some class is LFU.
 */
import { LRUCache } from 'lru-cache';
import type { L1CacheDriver, CreateDriverResult } from 'bentocache/types';
import { BaseDriver } from 'bentocache/drivers/base_driver';
import { FrequencySketch } from './frequency-sketch.ts';

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
  /** New keys an LFU class's admission kept out. */
  rejections = 0;
  private readonly sketch: FrequencySketch | undefined;

  /**
   * @param decode turns an L2 frame back into an entry (see L1Driver.set).
   * @param lfu whether a full key belongs to an LFU class (absent: every class is LRU, nothing is recorded).
   * @param expectedEntries about how many entries fit in `maxBytes` (sizes the frequency sketch).
   */
  constructor(maxBytes: number, maxEntries: number, decode: (frame: Buffer) => unknown, private readonly lfu?: (key: string) => boolean, expectedEntries = maxEntries) {
    this.decode = decode;
    this.sketch = lfu ? new FrequencySketch(Math.min(maxEntries, expectedEntries)) : undefined;
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

  /** One logical read of `key` (hit or miss), for LFU admission. */
  record(key: string): void {
    this.sketch?.record(key);
  }

  /** Stores `item` unless the L1 is full and `key`, of an LFU class, is read less often than the entry it would evict. */
  set(key: string, item: L1Item, ttl?: number): void {
    // Estimated once here, not again by the LRU's sizeCalculation.
    const size = Math.max(1, estimateBytes(item.value));
    if (this.sketch && !this.fits(size) && this.lfu!(key) && !this.lru.has(key) && !this.admits(key)) {
      this.rejections++;
      return;
    }
    this.lru.set(key, item, { ttl, size });
  }

  /** Whether an entry of `size` enters without evicting one (then every class is admitted). */
  private fits(size: number): boolean {
    const lru = this.lru;
    return lru.size < lru.max && lru.calculatedSize + size <= lru.maxSize;
  }

  private admits(key: string): boolean {
    const lru = this.lru;
    const victim = lru.rkeys().next();
    return victim.done === true || this.sketch!.frequency(key) > this.sketch!.frequency(victim.value);
  }

  /** The driver BentoCache builds its L1 layer from (serialization off: entries stay objects). */
  driver(): CreateDriverResult<L1CacheDriver> {
    return { options: { serialize: false }, factory: (config: { prefix?: string }) => new L1Driver(this, config.prefix) };
  }
}

class L1Driver extends BaseDriver implements L1CacheDriver {
  readonly type = 'l1' as const;

  private readonly lru: LRUCache<string, L1Item>;

  constructor(
    private readonly store: L1Store,
    prefix: string | undefined,
  ) {
    super({ prefix });
    this.lru = store.lru;
  }

  namespace(namespace: string): L1Driver {
    return new L1Driver(this.store, this.createNamespacePrefix(namespace));
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
    const item = (Buffer.isBuffer(value) ? this.store.decode(value) : value) as L1Item;
    this.store.set(this.getItemKey(key), item, ttl);
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
