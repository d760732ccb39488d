/**
 * TinyLFU's frequency sketch (Einziger, Friedman, Manes 2017): a count-min sketch of 4-bit counters
 * (capped at 15) over the keys read recently, halved every `sampleSize` records so that the counts
 * follow the access pattern as it changes (ageing). The L1 consults it to admit a new entry of an
 * LFU class only when it is read more often than the entry it would evict (l1-store.ts). Written
 * here because the L1 stays lru-cache (BentoCache's driver and the tag fast path read it directly)
 * and the one maintained W-TinyLFU cache for Node.js (transitory) is a whole cache, not a filter.
 */
const DEPTH = 4;
const MAX_COUNT = 15;
/** Odd multipliers giving the 4 rows independent-enough indexes from one 32-bit hash. */
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const;

export class FrequencySketch {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly sampleSize: number;
  private additions = 0;

  /** @param capacity about how many distinct keys the cache holds: the sketch is sized and aged by it. */
  constructor(capacity: number) {
    let width = 64;
    while (width < capacity) width *= 2;
    this.table = new Uint8Array(width * DEPTH);
    this.mask = width - 1;
    this.sampleSize = 10 * width;
  }

  record(key: string): void {
    const h = hash(key);
    let added = false;
    for (let row = 0; row < DEPTH; row++) {
      const i = this.index(h, row);
      if (this.table[i]! < MAX_COUNT) {
        this.table[i] = this.table[i]! + 1;
        added = true;
      }
    }
    if (added && ++this.additions >= this.sampleSize) this.age();
  }

  /** The estimated number of recent reads of `key` (the smallest of its counters). */
  frequency(key: string): number {
    const h = hash(key);
    let min = MAX_COUNT;
    for (let row = 0; row < DEPTH; row++) min = Math.min(min, this.table[this.index(h, row)]!);
    return min;
  }

  private index(h: number, row: number): number {
    return row * (this.mask + 1) + ((Math.imul(h, SEEDS[row]!) >>> 15) & this.mask);
  }

  private age(): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = this.table[i]! >> 1;
    this.additions = Math.floor(this.additions / 2);
  }
}

/** FNV-1a over UTF-16 code units, finished with a murmur3 mix (FNV's low bits alone index poorly). */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
