/**
 * The tiered cache: BentoCache (L1 in-process, L2 Redis, a bus keeping every instance's L1 in
 * step, grace periods, per-process stampede protection, tags, namespaces) plus what it does not do:
 * - a synchronous L1 fast path (BentoCache's async get costs a few microseconds; a fresh L1 hit
 *   here is a Map lookup),
 * - refresh-ahead (BentoCache refreshes only after expiry, stale-while-revalidate),
 * - cross-instance stampede protection (a short Redis lock),
 * - an invalidation epoch per class, so a load that raced an invalidation is never cached,
 * - a database tier for expensive computed classes (computed-results.ts), read before the loader.
 * Keys are `<class>:<key>` in one BentoCache store, and tags are qualified by class the same way
 * (every entry also carries its class tag, for clearing a class). Not BentoCache namespaces: a
 * namespace forgets the store's `serialize: false` and would put serialized copies in L1.
 */
import { BentoCache, bentostore, errors } from 'bentocache';
import type { CacheProvider, GetSetFactoryContext } from 'bentocache/types';
import type { Logger } from 'pino';
import type { ComputedResults } from './computed-results.ts';
import { DistributedLock } from './distributed-lock.ts';
import type { CacheFlags } from './flags.ts';
import { L1Store, type L1Item } from './l1-store.ts';
import { DATA_CLASSES, REFRESH_AHEAD_AT, type CachePolicies, type DataClass } from './policies.ts';
import { guardedRedisBus } from './redis-bus.ts';
import { redisL2 } from './redis-l2.ts';
import { RedisLink } from './redis-link.ts';
import { WireSerializer } from './serializer.ts';
import { CacheStats } from './stats.ts';
import { WriteBehindQueue, type Persist } from './write-behind.ts';

export interface TieredCacheOptions {
  /** Key prefix in L1 and Redis; instances that share it share entries and invalidations. */
  prefix: string;
  l1MaxBytes: number;
  l1MaxEntries: number;
  redis: { url: string; timeoutMs: number; breakMs: number } | undefined;
  compressAboveBytes: number;
  lockTtlMs: number;
  writeBehindMs: number;
  policies: CachePolicies;
  flags: CacheFlags;
  logger: Logger;
  /** The database tier for classes whose policy says `persist` (absent: two tiers). */
  computed?: ComputedResults;
  /** Runs a load inside a child span of the caller's trace (observability's tracing); hits stay span-free. */
  span?: SpanRunner;
}

export type SpanRunner = <T>(name: string, attributes: Record<string, string>, fn: () => Promise<T>) => Promise<T>;

/** RFC 9211 vocabulary: a hit (fresh or stale), a miss we loaded, a miss that joined another load, or no cache at all. */
export type CacheStatus = 'hit' | 'stale' | 'miss' | 'collapsed' | 'bypass';

export interface Cached<T> {
  value: T;
  status: CacheStatus;
  tier: 'l1' | 'l2' | 'db' | undefined;
  /** When the value was loaded (epoch ms): the basis of `Age`. */
  createdAt: number;
  /** When it stops being fresh (epoch ms). */
  expiresAt: number;
}

/** What is stored: the value and its load time, which BentoCache's getOrSet does not return. */
interface Envelope<T> {
  v: T;
  t: number;
}

const TAG_KEY_PREFIX = '___bc:t:'; // BentoCache's tag-timestamp keys (pinned version; covered by the tag tests)
const PEER_POLL_MS = 10;
const CLASS_TAG = 'class';

/** Tags live in one store: qualify them by class, and add the class's own tag. */
function qualify(cls: DataClass, tags: string[]): string[] {
  return [`${cls}:${CLASS_TAG}`, ...tags.map((t) => `${cls}:${t}`)];
}

export class TieredCache {
  readonly stats = new CacheStats();
  readonly l1: L1Store;
  private readonly bento: BentoCache<Record<'main', ReturnType<typeof bentostore>>>;
  private readonly store: CacheProvider;
  private readonly closeBus: (() => void) | undefined;
  private readonly epochs = Object.fromEntries(DATA_CLASSES.map((c) => [c, 0])) as Record<DataClass, number>;
  /** Last invalidation per class (epoch ms): a grace copy older than it was invalidated, not merely expired. */
  private readonly invalidatedAt = Object.fromEntries(DATA_CLASSES.map((c) => [c, 0])) as Record<DataClass, number>;
  private readonly inflight = new Map<string, number>();
  private readonly refreshing = new Set<string>();
  private readonly writeBehindQueue: WriteBehindQueue;
  private readonly prefix: string;

  private constructor(
    private readonly options: TieredCacheOptions,
    private readonly link: RedisLink | undefined,
    private readonly lock: DistributedLock | undefined,
  ) {
    const { flags, logger } = options;
    this.prefix = options.prefix.replace(/:+$/, '');
    const serializer = new WireSerializer(options.compressAboveBytes, flags.compression);
    this.l1 = new L1Store(options.l1MaxBytes, options.l1MaxEntries, (frame) => serializer.decode(frame));
    const store = bentostore().useL1Layer(this.l1.driver());
    if (link) {
      const { bus, close } = guardedRedisBus(link);
      store.useL2Layer(redisL2(link, flags.l2)).useBus(bus);
      this.closeBus = close;
    }
    this.bento = new BentoCache({
      default: 'main',
      stores: { main: store },
      prefix: this.prefix,
      // BentoCache types serialized values as strings; ours are Buffers end to end (see redis-l2.ts).
      serializer: { serialize: (v) => serializer.encode(v) as unknown as string, deserialize: (b: Buffer) => serializer.decode(b) },
      // L2 trouble is a miss, never an error for the caller.
      suppressL2Errors: true,
      grace: false,
      ttl: 60_000,
    });
    this.store = this.bento.use('main');
    // Another instance invalidated something: loads of the classes it names may have read the old
    // data; loads of other classes are untouched.
    this.bento.on('bus:message:received', ({ message }) => {
      if (message.type === 'set' && !message.keys.some((k) => k.startsWith(TAG_KEY_PREFIX))) return;
      for (const cls of this.classesOf(message.keys)) this.bump(cls);
    });
    // While Redis was away this instance heard no invalidations: its L1 cannot be trusted.
    link?.onRecovered(() => {
      logger.warn('redis is back: clearing L1, invalidations may have been missed');
      this.l1.lru.clear();
    });
    this.writeBehindQueue = new WriteBehindQueue(options.writeBehindMs, (error, key) => logger.error({ err: error, key }, 'write-behind persist failed'));
  }

  static async create(options: TieredCacheOptions): Promise<TieredCache> {
    if (!options.redis) return new TieredCache(options, undefined, undefined);
    const link = new RedisLink(options.redis);
    if (!(await link.connect())) {
      // Without Redis at start there is no bus either: an L1-only instance is safe, a deaf one is not.
      options.logger.warn('redis unreachable at start: the cache runs on L1 only');
      link.close();
      return new TieredCache(options, undefined, undefined);
    }
    return new TieredCache(options, link, new DistributedLock(link, options.lockTtlMs));
  }

  get isEnabled(): boolean {
    return this.options.flags.enabled();
  }

  get redisHealthy(): boolean | undefined {
    return this.link?.healthy;
  }

  policy(cls: DataClass) {
    return this.options.policies[cls];
  }

  /** Reads through the cache: L1 fast path, else BentoCache (L1, L2, one loader per key), else `loader`; a loader's `undefined` is answered, never stored. */
  async get<T>(cls: DataClass, key: string, loader: () => Promise<T>, tags: string[] = []): Promise<Cached<T>> {
    const flags = this.options.flags;
    if (!flags.enabled()) {
      const now = Date.now();
      return { value: await loader(), status: 'bypass', tier: undefined, createdAt: now, expiresAt: now };
    }
    const hit = flags.l1FastPath() ? this.peek<T>(cls, key) : undefined;
    if (!hit) return this.load(cls, key, loader, tags, false);
    const policy = this.options.policies[cls];
    if (policy.strategy === 'refresh-ahead' && flags.refreshAhead() && hit.expiresAt - Date.now() < policy.ttlMs * REFRESH_AHEAD_AT) {
      this.refreshAhead(cls, key, loader, tags);
    }
    return hit;
  }

  /** A fresh L1 entry, synchronously, or undefined (missing, expired, or invalidated by a tag). */
  peek<T>(cls: DataClass, key: string): Cached<T> | undefined {
    const item = this.l1.lru.get(`${this.prefix}:${cls}:${key}`);
    const now = Date.now();
    if (!item || item.logicalExpiration === undefined || now >= item.logicalExpiration) return undefined;
    if (item.tags && item.tags.length > 0 && !this.tagsStillValid(item, now)) return undefined;
    this.stats.byClass[cls].hitsL1++;
    const envelope = item.value as Envelope<T>;
    return { value: envelope.v, status: 'hit', tier: 'l1', createdAt: envelope.t, expiresAt: item.logicalExpiration };
  }

  /** Write-through: the writer puts the new value in every tier (and tells other instances' L1). */
  async set(cls: DataClass, key: string, value: unknown, tags: string[] = []): Promise<void> {
    this.epochs[cls]++;
    const now = Date.now();
    await this.store.set({ key: `${cls}:${key}`, value: { v: value, t: now }, tags: qualify(cls, tags), ...this.entryOptions(cls) });
    await this.persist(cls, key, value, tags, now);
  }

  /** Write-behind: cached now, persisted later in the background (recomputable data only). */
  async writeBehind(cls: DataClass, key: string, value: unknown, persist: Persist): Promise<void> {
    await this.set(cls, key, value);
    this.writeBehindQueue.enqueue(`${cls}:${key}`, value, persist);
  }

  flushWriteBehind(): Promise<void> {
    return this.writeBehindQueue.flush();
  }

  async invalidateKey(cls: DataClass, key: string): Promise<void> {
    this.bump(cls);
    this.stats.byClass[cls].invalidations++;
    await this.store.delete({ key: `${cls}:${key}` });
    await this.dbTier(cls)?.deleteKey(cls, key);
  }

  /** Invalidates every entry carrying `tag`, in the given classes (all by default). */
  async invalidateTag(tag: string, classes: readonly DataClass[] = DATA_CLASSES): Promise<void> {
    for (const cls of classes) {
      this.bump(cls);
      this.stats.byClass[cls].invalidations++;
    }
    await this.store.deleteByTag({ tags: classes.map((cls) => `${cls}:${tag}`) });
    const persisted = classes.filter((cls) => this.dbTier(cls));
    if (persisted.length > 0) await this.options.computed!.deleteTag(persisted, tag);
  }

  async invalidateClass(cls: DataClass): Promise<void> {
    this.bump(cls);
    this.stats.byClass[cls].invalidations++;
    await this.store.deleteByTag({ tags: [`${cls}:${CLASS_TAG}`] });
    await this.dbTier(cls)?.deleteClass(cls);
  }

  /** Entries and estimated bytes in L1 per class (walks the LRU: for the admin endpoint, not hot paths). */
  l1Usage(): Record<DataClass, { entries: number; bytes: number }> {
    const usage = Object.fromEntries(DATA_CLASSES.map((c) => [c, { entries: 0, bytes: 0 }])) as Record<DataClass, { entries: number; bytes: number }>;
    const start = this.prefix.length + 1;
    for (const key of this.l1.lru.keys()) {
      const slot = usage[key.slice(start, key.indexOf(':', start)) as DataClass];
      if (!slot) continue;
      slot.entries++;
      slot.bytes += this.l1.lru.info(key)?.size ?? 0;
    }
    return usage;
  }

  async close(): Promise<void> {
    await this.writeBehindQueue.flush();
    await this.bento.disconnectAll();
    this.closeBus?.();
    this.link?.close();
  }

  private async load<T>(cls: DataClass, key: string, loader: () => Promise<T>, tags: string[], forceFresh: boolean): Promise<Cached<T>> {
    const stats = this.stats.byClass[cls];
    const fullKey = `${this.prefix}:${cls}:${key}`;
    const start = Date.now();
    const epoch = this.epochs[cls];
    const joined = (this.inflight.get(fullKey) ?? 0) > 0;
    const wasInL1 = this.l1.lru.has(fullKey);
    let ran = false;
    let fromDb = false;
    let lockToken: string | undefined;
    let discarded: Envelope<T> | undefined;

    const span = this.options.span;
    const factory = (ctx: GetSetFactoryContext): Promise<Envelope<T> | undefined> =>
      span ? span('cache.load', { 'cache.class': cls, 'cache.key': key }, () => produce(ctx)) : produce(ctx);
    const produce = async (ctx: GetSetFactoryContext): Promise<Envelope<T> | undefined> => {
      ran = true;
      stats.loads++;
      if (this.lock && this.options.flags.distributedLock()) {
        const outcome = await this.awaitPeer<T>(cls, key, fullKey);
        if (outcome.token) lockToken = outcome.token;
        if (outcome.peer) {
          // Another instance loaded it and wrote L2 already: take it without writing it back.
          ctx.setOptions({ skipL2Write: true, skipBusNotify: true });
          return outcome.peer;
        }
      }
      const row = await this.readDb(cls, key);
      if (row && this.epochs[cls] === epoch) {
        fromDb = true;
        stats.hitsDb++;
        // L1/L2 keep it only as long as it has left in the database.
        ctx.setOptions({ ttl: Math.max(1, row.expiresAt - Date.now()) });
        return { v: row.value as T, t: row.computedAt };
      }
      const value = await loader();
      const envelope = { v: value, t: Date.now() };
      if (value === undefined) {
        // Nothing to keep (the loader found nothing yet, e.g. a figure still being computed): the caller gets it, nothing is stored.
        discarded = envelope;
        return ctx.skip();
      }
      if (this.epochs[cls] !== epoch) {
        // Invalidated while loading: the value may predate the change. Give it to this caller
        // (its request overlapped the change) but cache nothing; waiters load again.
        stats.discarded++;
        discarded = envelope;
        return ctx.skip();
      }
      await this.persist(cls, key, value, tags, envelope.t);
      return envelope;
    };

    this.inflight.set(fullKey, (this.inflight.get(fullKey) ?? 0) + 1);
    let envelope: Envelope<T> | undefined;
    try {
      envelope = await this.store.getOrSet<Envelope<T> | undefined>({ key: `${cls}:${key}`, factory, tags: qualify(cls, tags), forceFresh, ...this.entryOptions(cls) });
    } catch (error) {
      stats.loadErrors++;
      // Callers see the loader's own error (a NotFoundError stays a 404).
      throw error instanceof errors.E_FACTORY_ERROR && error.cause ? error.cause : error;
    } finally {
      const left = (this.inflight.get(fullKey) ?? 1) - 1;
      if (left === 0) this.inflight.delete(fullKey);
      else this.inflight.set(fullKey, left);
      if (lockToken) void this.lock?.release(fullKey, lockToken);
    }

    const ttl = this.options.policies[cls].ttlMs;
    const result = envelope ?? discarded;
    if (!result) throw new Error(`cache loader for ${cls}:${key} produced no value`);
    const expiresAt = result.t + ttl;
    let status: CacheStatus;
    let tier: Cached<T>['tier'];
    if (fromDb) return { value: result.v, status: 'hit', tier: 'db', createdAt: result.t, expiresAt };
    if (!forceFresh && ran && result.t < start && result.t <= this.invalidatedAt[cls]) {
      // BentoCache keeps tag-invalidated entries for their grace period and may answer with one;
      // a value older than an invalidation of its class is reloaded instead of served.
      return this.load(cls, key, loader, tags, true);
    }
    if (expiresAt <= Date.now()) {
      status = 'stale';
      tier = wasInL1 ? 'l1' : 'l2';
      stats.stale++;
    } else if (ran && result.t >= start) {
      status = 'miss';
      stats.misses++;
    } else if (joined) {
      status = 'collapsed';
      stats.collapsed++;
    } else {
      status = 'hit';
      tier = wasInL1 ? 'l1' : 'l2';
      if (tier === 'l1') stats.hitsL1++;
      else stats.hitsL2++;
    }
    return { value: result.v, status, tier, createdAt: result.t, expiresAt };
  }

  /**
   * Takes the cross-instance lock for a key, or waits for the instance holding it to publish the
   * value in L2. Gives up waiting when the lock goes away or after its TTL, and loads itself.
   */
  private async awaitPeer<T>(cls: DataClass, key: string, fullKey: string): Promise<{ token?: string; peer?: Envelope<T> }> {
    const deadline = Date.now() + this.options.lockTtlMs;
    while (Date.now() < deadline) {
      const token = await this.lock!.acquire(fullKey);
      if (token) return { token };
      if (token === null) return {};
      await new Promise((resolve) => setTimeout(resolve, PEER_POLL_MS));
      const peer = await this.readL2<T>(cls, key);
      if (peer) return { peer };
    }
    return {};
  }

  private async readL2<T>(cls: DataClass, key: string): Promise<Envelope<T> | undefined> {
    const item = (await this.store.get<unknown>({ key: `${cls}:${key}`, grace: false })) as Envelope<T> | undefined;
    return item ?? undefined;
  }

  private refreshAhead<T>(cls: DataClass, key: string, loader: () => Promise<T>, tags: string[]): void {
    const fullKey = `${this.prefix}:${cls}:${key}`;
    if (this.refreshing.has(fullKey)) return;
    this.refreshing.add(fullKey);
    this.stats.byClass[cls].refreshAhead++;
    void this.load(cls, key, loader, tags, true)
      .catch((error: unknown) => this.options.logger.warn({ err: error, cls, key }, 'refresh-ahead failed'))
      .finally(() => this.refreshing.delete(fullKey));
  }

  private tagsStillValid(item: L1Item, now: number): boolean {
    for (const tag of item.tags!) {
      const mark = this.l1.lru.get(`${this.prefix}:${TAG_KEY_PREFIX}${tag}`);
      // Unknown or expired tag state: let BentoCache fetch it (slow path).
      if (!mark || mark.logicalExpiration === undefined || now >= mark.logicalExpiration) return false;
      if (item.createdAt <= (mark.value as number)) return false;
    }
    return true;
  }

  /** The database tier, when this class persists and the flag is on. */
  private dbTier(cls: DataClass): ComputedResults | undefined {
    return this.options.policies[cls].persist && this.options.flags.dbTier() ? this.options.computed : undefined;
  }

  /** Database trouble is a miss (read) or a lost copy (write), never an error for the caller. */
  private async readDb(cls: DataClass, key: string) {
    try {
      return await this.dbTier(cls)?.read(cls, key, Date.now());
    } catch (error) {
      this.options.logger.warn({ err: error, cls }, 'cache database tier read failed');
      return undefined;
    }
  }

  private async persist(cls: DataClass, key: string, value: unknown, tags: string[], computedAt: number): Promise<void> {
    try {
      await this.dbTier(cls)?.write(cls, key, value, tags, computedAt, computedAt + this.options.policies[cls].ttlMs);
    } catch (error) {
      this.options.logger.warn({ err: error, cls }, 'cache database tier write failed');
    }
  }

  private entryOptions(cls: DataClass) {
    const policy = this.options.policies[cls];
    // BentoCache counts grace from the write, we count it past the TTL.
    return { ttl: policy.ttlMs, grace: policy.graceMs > 0 ? policy.ttlMs + policy.graceMs : (false as const) };
  }

  private bump(cls: DataClass): void {
    this.epochs[cls]++;
    this.invalidatedAt[cls] = Date.now();
  }

  /** The classes a bus message's keys (`<class>:<key>`, tag keys `___bc:t:<class>:<tag>`) name; all of them when one is unrecognised. */
  private classesOf(keys: readonly string[]): Set<DataClass> {
    const classes = new Set<DataClass>();
    for (let key of keys) {
      if (key.startsWith(`${this.prefix}:`)) key = key.slice(this.prefix.length + 1);
      if (key.startsWith(TAG_KEY_PREFIX)) key = key.slice(TAG_KEY_PREFIX.length);
      const cls = key.slice(0, key.indexOf(':')) as DataClass;
      if (!DATA_CLASSES.includes(cls)) return new Set(DATA_CLASSES);
      classes.add(cls);
    }
    return keys.length === 0 ? new Set(DATA_CLASSES) : classes;
  }
}
