/**
 * Everything the tiered cache knows about BentoCache beyond its public API, in one place.
 *
 * BentoCache (pinned exactly in package.json) has no public way to ask "is this entry still valid
 * for its tags?" without an async `get`, which costs microseconds the synchronous L1 fast path and
 * the one-GET L2 fast path cannot pay. So the fast paths read two things BentoCache keeps:
 * - the entry it stores per key, `{ value, createdAt, logicalExpiration, tags }` (L1 holds it
 *   as an object, L2 as our serializer's frame of it);
 * - its tag marks: the time a tag was last invalidated, kept under `___bc:t:<tag>` in the same
 *   store (L1 and L2).
 * `verifyBentoLayout()` checks both on a throwaway in-memory BentoCache at start: if an upgrade
 * changed either, the fast paths switch off (every read takes BentoCache's own path, which is
 * correct but slower) instead of serving invalidated entries. test/cache/bento-adapter.test.ts
 * pins the same facts.
 */
import { BentoCache, bentostore } from 'bentocache';
import { L1Store, type L1Item } from './l1-store.ts';

/** BentoCache's tag-mark key prefix (TagSystem's `#kTagPrefix` in 1.6.1). */
export const TAG_KEY_PREFIX = '___bc:t:';

export function tagMarkKey(prefix: string, tag: string): string {
  return `${prefix}:${TAG_KEY_PREFIX}${tag}`;
}

/** Whether an entry's tags were all invalidated before it was created; `undefined` when a mark is not known locally (ask BentoCache). */
export function tagsValid(lru: L1Store['lru'], prefix: string, item: L1Item, now: number): boolean | undefined {
  if (!item.tags) return true;
  for (const tag of item.tags) {
    const mark = lru.get(tagMarkKey(prefix, tag));
    if (!mark || mark.logicalExpiration === undefined || now >= mark.logicalExpiration) return undefined;
    if (item.createdAt <= (mark.value as number)) return false;
  }
  return true;
}

/**
 * What BentoCache's bus does to an L1 entry another instance wrote (LocalCache.logicallyExpire:
 * CacheEntry.expire sets `logicalExpiration` 100 ms in the past), in place: the entry stays as a
 * grace copy, and no read serves it as fresh.
 */
export function expireLogically(lru: L1Store['lru'], fullKey: string, now: number): void {
  const item = lru.peek(fullKey);
  if (item && (item.logicalExpiration === undefined || item.logicalExpiration > now - 100)) item.logicalExpiration = now - 100;
}

/** Whether a decoded L2 frame has the shape of a BentoCache entry. */
export function isEntry(value: unknown): value is L1Item {
  return typeof value === 'object' && value !== null && 'value' in value && typeof (value as L1Item).createdAt === 'number';
}

/** Checks, on a private in-memory BentoCache, that entries and tag marks are stored as this module assumes. */
export async function verifyBentoLayout(): Promise<boolean> {
  const l1 = new L1Store(1_048_576, 100, () => undefined);
  const bento = new BentoCache({ default: 'probe', stores: { probe: bentostore().useL1Layer(l1.driver()) }, prefix: 'probe' });
  try {
    await bento.set({ key: 'entry', value: 1, tags: ['t'], ttl: 60_000 });
    const entry = l1.lru.get('probe:entry');
    if (!entry || entry.value !== 1 || !entry.tags?.includes('t') || typeof entry.logicalExpiration !== 'number') return false;
    await bento.deleteByTag({ tags: ['t'] });
    const mark = l1.lru.get(tagMarkKey('probe', 't'));
    return typeof mark?.value === 'number' && tagsValid(l1.lru, 'probe', entry, Date.now()) === false;
  } catch {
    return false;
  } finally {
    await bento.disconnectAll();
  }
}
