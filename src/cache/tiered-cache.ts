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
import type { CacheBusMessage, CacheProvider, GetSetFactoryContext } from 'bentocache/types';
import { CacheBusMessageType } from 'bentocache/types';
import type { Logger } from 'pino';
import { expireLogically, isEntry, TAG_KEY_PREFIX, tagsValid, verifyBentoLayout } from './bento-adapter.ts';
import type { ComputedResults } from './computed-results.ts';
import { DistributedLock } from './distributed-lock.ts';
import type { CacheFlags } from './flags.ts';
import { L1Store, type L1Item } from './l1-store.ts';
import { DATA_CLASSES, REFRESH_AHEAD_AT, type CachePolicies, type DataClass } from './policies.ts';
import { guardedRedisBus, type GuardedBus } from './redis-bus.ts';
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

/** The writes of one turn of the event loop: their pipeline's answer, their keys, and the promise every one of them returns. */
interface WriteTurn {
  written: Promise<unknown[]>;
  keys: string[];
  done: Promise<void>;
}

const DONE = Promise.resolve();
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
  private readonly bus: GuardedBus | undefined;
  private readonly epochs = Object.fromEntries(DATA_CLASSES.map((c) => [c, 0])) as Record<DataClass, number>;
  /** Last invalidation per class (epoch ms): a grace copy older than it was invalidated, not merely expired. */
  private readonly invalidatedAt = Object.fromEntries(DATA_CLASSES.map((c) => [c, 0])) as Record<DataClass, number>;
  private readonly inflight = new Map<string, number>();
  private readonly refreshing = new Set<string>();
  private readonly writeBehindQueue: WriteBehindQueue;
  private readonly prefix: string;
  private readonly serializer: WireSerializer;
  /** Some class is LFU: every read is recorded in the L1's frequency sketch. */
  private readonly recordsReads: boolean;
  private writeTurn: WriteTurn | undefined;

  /** @param fastPaths whether BentoCache stores entries and tag marks as bento-adapter.ts expects (else every read goes through BentoCache). */
  private constructor(
    private readonly options: TieredCacheOptions,
    private readonly link: RedisLink | undefined,
    private readonly lock: DistributedLock | undefined,
    private readonly fastPaths: boolean,
  ) {
    const { flags, logger } = options;
    this.prefix = options.prefix.replace(/:+$/, '');
    const serializer = (this.serializer = new WireSerializer(options.compressAboveBytes, flags.compression));
    const lfuPrefixes = DATA_CLASSES.filter((cls) => options.policies[cls].eviction === 'lfu').map((cls) => `${this.prefix}:${cls}:`);
    this.recordsReads = lfuPrefixes.length > 0;
    this.l1 = new L1Store(
      options.l1MaxBytes,
      options.l1MaxEntries,
      (frame) => serializer.decode(frame),
      this.recordsReads ? (key) => lfuPrefixes.some((p) => key.startsWith(p)) : undefined,
      // Sketch sizing: entries of a few KB (bars ranges are tens of KB, portfolios one or two).
      Math.ceil(options.l1MaxBytes / 4096),
    );
    const store = bentostore().useL1Layer(this.l1.driver());
    if (link) {
      this.bus = guardedRedisBus(link, (message) => this.expireWritten(message));
      store.useL2Layer(redisL2(link, flags.l2)).useBus(this.bus.bus);
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
    const fastPaths = await verifyBentoLayout();
    if (!fastPaths) options.logger.warn('bentocache stores entries or tag marks differently than bento-adapter.ts expects: cache fast paths off');
    if (!options.redis) return new TieredCache(options, undefined, undefined, fastPaths);
    const link = new RedisLink(options.redis);
    if (!(await link.connect())) {
      // Without Redis at start there is no bus either: an L1-only instance is safe, a deaf one is not.
      options.logger.warn('redis unreachable at start: the cache runs on L1 only');
      link.close();
      return new TieredCache(options, undefined, undefined, fastPaths);
    }
    return new TieredCache(options, link, new DistributedLock(link, options.lockTtlMs), fastPaths);
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
    const fullKey = `${this.prefix}:${cls}:${key}`;
    if (this.recordsReads) this.l1.record(fullKey);
    const hit = flags.l1FastPath() ? this.peek<T>(cls, key, fullKey) : undefined;
    if (!hit) return (await this.l2FastPath<T>(cls, fullKey)) ?? this.load(cls, key, loader, tags, false);
    const policy = this.options.policies[cls];
    if (policy.strategy === 'refresh-ahead' && flags.refreshAhead() && hit.expiresAt - Date.now() < policy.ttlMs * REFRESH_AHEAD_AT) {
      this.refreshAhead(cls, key, loader, tags);
    }
    return hit;
  }

  /** A fresh L1 entry, synchronously, or undefined (missing, expired, or invalidated by a tag). */
  peek<T>(cls: DataClass, key: string, fullKey = `${this.prefix}:${cls}:${key}`): Cached<T> | undefined {
    if (!this.fastPaths) return undefined;
    const item = this.l1.lru.get(fullKey);
    const now = Date.now();
    if (!item || item.logicalExpiration === undefined || now >= item.logicalExpiration) return undefined;
    // Invalidated, or tag state unknown here: BentoCache's path decides (and fetches the tag state).
    if (tagsValid(this.l1.lru, this.prefix, item, now) !== true) return undefined;
    this.stats.byClass[cls].hitsL1++;
    const envelope = item.value as Envelope<T>;
    return { value: envelope.v, status: 'hit', tier: 'l1', createdAt: envelope.t, expiresAt: item.logicalExpiration };
  }

  /**
   * An L1 miss answered by one Redis GET (pipelined with concurrent ones): a fresh entry whose tags
   * are known valid here is copied into L1 and returned. Anything else (absent, stale, tag state
   * unknown, Redis trouble, an invalidation while reading) is `undefined`: BentoCache's path decides.
   */
  private async l2FastPath<T>(cls: DataClass, fullKey: string): Promise<Cached<T> | undefined> {
    if (!this.fastPaths || !this.link || !this.options.flags.l2()) return undefined;
    const epoch = this.epochs[cls];
    let frame: Buffer | null;
    try {
      frame = await this.link.getBuffer(fullKey);
    } catch {
      return undefined;
    }
    if (!frame || this.epochs[cls] !== epoch) return undefined;
    const item = this.serializer.decode(frame);
    const now = Date.now();
    if (!isEntry(item) || item.logicalExpiration === undefined || now >= item.logicalExpiration) return undefined;
    if (tagsValid(this.l1.lru, this.prefix, item, now) !== true) return undefined;
    // Kept in L1 as BentoCache would: for the rest of its TTL plus the class's grace.
    this.l1.set(fullKey, item, item.logicalExpiration - now + this.options.policies[cls].graceMs);
    this.stats.byClass[cls].hitsL2++;
    const envelope = item.value as Envelope<T>;
    return { value: envelope.v, status: 'hit', tier: 'l2', createdAt: envelope.t, expiresAt: item.logicalExpiration };
  }

  /** Write-through: the writer puts the new value in every tier (and tells other instances' L1). */
  set(cls: DataClass, key: string, value: unknown, tags: string[] = []): Promise<void> {
    this.epochs[cls]++;
    const now = Date.now();
    const envelope = { v: value, t: now };
    const written = this.fastPaths
      ? this.write(cls, key, envelope, qualify(cls, tags), now)
      : this.store.set({ key: `${cls}:${key}`, value: envelope, tags: qualify(cls, tags), ...this.entryOptions(cls) }).then(() => undefined);
    // Not an async function: the writes of a turn all return that turn's one promise (below).
    return this.dbTier(cls) ? written.then(() => this.persist(cls, key, value, tags, now)) : written;
  }

  /**
   * BentoCache's set, without its per-call overhead: the entry as BentoCache stores it into L1,
   * one SET PX in the pipeline of the turn's writes, and once that pipeline is answered one bus
   * notice for all of them, so that other instances drop their L1 copies (after the SETs: a peer
   * that drops its copy must find the new one in L2). Every write of a turn returns the turn's one
   * promise: hundreds of concurrent writes cost one promise, not several each. Redis trouble costs
   * the L2 copy or the notice, never the caller (as BentoCache's `suppressL2Errors`).
   */
  private write(cls: DataClass, key: string, envelope: Envelope<unknown>, tags: string[], now: number): Promise<void> {
    const policy = this.options.policies[cls];
    const item: L1Item = { value: envelope, createdAt: now, logicalExpiration: now + policy.ttlMs, tags };
    const fullKey = `${this.prefix}:${cls}:${key}`;
    const keepMs = policy.ttlMs + policy.graceMs;
    this.l1.set(fullKey, item, keepMs);
    if (!this.link || !this.bus) return DONE;
    const noticeKey = `${cls}:${key}`;
    let frame: Buffer | undefined;
    try {
      if (this.options.flags.l2()) frame = this.serializer.encode(item);
    } catch (error) {
      this.options.logger.debug({ err: error, cls }, 'cache write reached L1 only');
    }
    if (!frame) {
      this.notify([noticeKey]);
      return DONE;
    }
    const written = this.link.setBufferInTurn(fullKey, frame, keepMs);
    let turn = this.writeTurn;
    if (turn?.written !== written) turn = this.writeTurn = this.startWriteTurn(written);
    turn.keys.push(noticeKey);
    return turn.done;
  }

  /** The notice of one turn's writes, sent once their pipeline is answered; `done` resolves then (peers learn of writes asynchronously in any case). */
  private startWriteTurn(written: Promise<unknown[]>): WriteTurn {
    const keys: string[] = [];
    const done = written.then((errors) => {
      if (errors.length > 0) this.options.logger.debug({ err: errors[0], writes: errors.length }, 'cache writes reached L1 only');
      this.notify(keys);
    });
    return { written, keys, done };
  }

  private notify(keys: string[]): void {
    this.bus!.notifySet(keys, this.prefix).catch((error: unknown) => this.options.logger.debug({ err: error }, 'cache write notice not sent'));
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
    this.bus?.close();
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

  /**
   * Another instance's write notice (written keys, no tag marks): their L1 copies here expire in
   * place. BentoCache's bus would read, copy and store each entry again (and estimate its size
   * again), which every instance pays for every write made elsewhere. Anything else, and every
   * message while the fast paths are off, goes to BentoCache (its event then bumps epochs as before;
   * for these messages it bumps none).
   */
  private expireWritten(message: CacheBusMessage): boolean {
    if (!this.fastPaths || message.type !== CacheBusMessageType.Set || message.namespace !== this.prefix) return false;
    if (message.keys.some((k) => k.startsWith(TAG_KEY_PREFIX))) return false;
    const now = Date.now();
    for (const key of message.keys) expireLogically(this.l1.lru, `${this.prefix}:${key}`, now);
    return true;
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
