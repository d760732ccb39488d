/**
 * Account ownership: every account belongs to one of `shards` shards (account id mod shards), and
 * each shard is a lease ('shard:<n>') held by one instance, renewed every third of its TTL. Each
 * instance also holds an 'instance:<id>' lease as its heartbeat; the live heartbeats give the target
 * share (ceil(shards / live instances)): an instance below it takes free shards, one above it hands
 * extras back once their last batch has committed. A shard nobody holds is taken by the first
 * instance that gets a command for one of its accounts.
 *
 * The listener (the trading engine) loads a shard's accounts when it is acquired and drops them when
 * it is lost or handed back; a shard counts as held only between those two calls. Every lease call
 * and listener call runs on one serial chain, so ownership never changes halfway through another
 * change. A renewal is trusted for the TTL counted from when it was sent (this process's monotonic
 * clock): a paused or partitioned instance stops trading before another can take over, and the
 * journal's fence catches whatever it still tries to write.
 */
import type { Logger } from 'pino';
import type { Lease, LeaseStore } from './leases.ts';

export interface ShardListener {
  /** Shards now held, with the epoch each was acquired under: load their accounts. */
  shardsAcquired(shards: ReadonlyMap<number, number>): Promise<void>;
  /** Shards no longer held (lost, or about to be handed back): resolves once their accounts are dropped and their last batch settled. */
  shardsLost(shards: readonly number[]): Promise<void>;
  /** Whether a shard has accounts in memory (extras are handed back idle ones first). */
  busy(shard: number): boolean;
}

export type Owner = { local: true } | { local: false; holder: string; address: string | null };

export interface ShardOwnershipOptions {
  store: LeaseStore;
  shards: number;
  ttlMs: number;
  logger: Logger;
}

const INSTANCE_PREFIX = 'instance:';

interface Held {
  epoch: number;
  /** performance.now() after which the lease may have lapsed. */
  validUntil: number;
}

export class ShardOwnership {
  private readonly names: string[];
  private readonly held = new Map<number, Held>();
  /** Other instances' shards as last looked up, trusted for a third of the TTL (no query per forwarded command). */
  private readonly remote = new Map<number, { owner: Owner & { local: false }; until: number }>();
  /** One lookup (or takeover) per shard at a time: concurrent commands for it share the answer. */
  private readonly looking = new Map<number, Promise<Owner>>();
  /** The periodic refresh waiting in the chain, if any (a slow one is not queued twice). */
  private queued: Promise<void> | undefined;
  private listener: ShardListener | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ShardOwnershipOptions) {
    this.names = Array.from({ length: options.shards }, (_, n) => `shard:${n}`);
  }

  get holder(): string {
    return this.options.store.holder;
  }

  get shardCount(): number {
    return this.options.shards;
  }

  shardOf(accountId: number): number {
    return accountId % this.options.shards;
  }

  leaseOf(shard: number): string {
    return this.names[shard]!;
  }

  /** The epoch this instance holds the shard under right now, or undefined. */
  epochOf(shard: number): number | undefined {
    const held = this.held.get(shard);
    return held && performance.now() < held.validUntil ? held.epoch : undefined;
  }

  ownsNow(accountId: number): boolean {
    return this.epochOf(this.shardOf(accountId)) !== undefined;
  }

  /** Shards held now, with their epochs. */
  heldShards(): Map<number, number> {
    const now = performance.now();
    return new Map([...this.held].filter(([, h]) => now < h.validUntil).map(([shard, h]) => [shard, h.epoch]));
  }

  setListener(listener: ShardListener): void {
    this.listener = listener;
  }

  /** Joins the cluster: takes this instance's share of shards now, then keeps renewing and balancing. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.queued ??= this.refresh().finally(() => (this.queued = undefined));
    }, Math.max(50, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Renews, drops what was lost and rebalances now (also after a write was fenced). */
  refresh(): Promise<void> {
    return this.serial(() => this.tick());
  }

  /**
   * Who serves an account: this instance if it holds the shard, else the live holder; when nobody
   * holds it, this instance takes it (and loads its accounts) and serves it.
   */
  owner(accountId: number): Promise<Owner> {
    const shard = this.shardOf(accountId);
    if (this.epochOf(shard) !== undefined) return Promise.resolve({ local: true });
    const known = this.remote.get(shard);
    if (known && performance.now() < known.until) return Promise.resolve(known.owner);
    // Stopping: take nothing, and do not wait behind the hand-back on the chain; just look.
    if (this.stopped) return this.lookUp(shard);
    let looking = this.looking.get(shard);
    if (!looking) {
      looking = this.serial(() => this.take(shard)).finally(() => this.looking.delete(shard));
      this.looking.set(shard, looking);
    }
    return looking;
  }

  /** Forgets a looked-up owner (it did not answer), so the next command looks again or takes the shard. */
  forgetOwner(accountId: number): void {
    this.remote.delete(this.shardOf(accountId));
  }

  /** The lease of an account's shard as the database has it (lapsed or not). */
  async lease(accountId: number): Promise<Lease | undefined> {
    const [lease] = await this.options.store.list([this.leaseOf(this.shardOf(accountId))]);
    return lease;
  }

  /** Leaves the cluster after the engine's last batch: hands every lease back so others take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.serial(async () => {
      const shards = [...this.held.keys()];
      this.held.clear();
      if (shards.length > 0) await this.listener?.shardsLost(shards);
      await this.options.store
        .release([...shards.map((s) => this.leaseOf(s)), INSTANCE_PREFIX + this.holder])
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'shard lease release failed; the leases lapse by themselves'));
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async take(shard: number): Promise<Owner> {
    if (this.epochOf(shard) !== undefined) return { local: true };
    const { store, ttlMs } = this.options;
    const name = this.leaseOf(shard);
    const sentAt = performance.now();
    const [lease] = this.stopped ? [] : await store.acquire([name], ttlMs);
    if (lease) {
      await this.gain(new Map([[shard, lease.epoch]]), sentAt);
      return { local: true };
    }
    return this.lookUp(shard);
  }

  /** The shard's live holder as the database has it (cached for a third of the TTL), or no address. */
  private async lookUp(shard: number): Promise<Owner> {
    const { store, ttlMs } = this.options;
    const [current] = await store.list([this.leaseOf(shard)]);
    // Nobody serves a lapsed lease, nor this instance's own once it stops: no address, so the caller
    // looks again shortly (by then another instance has taken the shard).
    const live = current !== undefined && !current.lapsed && current.holder !== this.holder;
    const owner = { local: false as const, holder: current?.holder ?? 'unknown', address: live ? current.address : null };
    if (live) this.remote.set(shard, { owner, until: performance.now() + ttlMs / 3 });
    return owner;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { store, ttlMs, shards, logger } = this.options;
    const sentAt = performance.now();
    try {
      await store.acquire([INSTANCE_PREFIX + this.holder], ttlMs);
      const renewed = new Map((await store.renew([...this.held.keys()].map((s) => this.leaseOf(s)), ttlMs)).map((l) => [l.name, l.epoch]));
      const lost = [...this.held].filter(([shard, h]) => renewed.get(this.leaseOf(shard)) !== h.epoch).map(([shard]) => shard);
      for (const h of this.held.values()) h.validUntil = sentAt + ttlMs;
      await this.lose(lost, 'lost');

      const live = (await store.live(INSTANCE_PREFIX)).length;
      const target = Math.ceil(shards / Math.max(1, live));
      if (this.held.size < target) {
        const taken = new Set((await store.live('shard:')).map((l) => l.name));
        const free = this.names.map((_, n) => n).filter((n) => !taken.has(this.leaseOf(n)));
        const wanted = shuffle(free).slice(0, target - this.held.size);
        const acquiredAt = performance.now();
        const acquired = await store.acquire(wanted.map((n) => this.leaseOf(n)), ttlMs);
        await this.gain(new Map(acquired.map((l) => [Number(l.name.slice('shard:'.length)), l.epoch])), acquiredAt);
      } else if (this.held.size > target) {
        const listener = this.listener;
        const extras = [...this.held.keys()].sort((a, b) => Number(listener?.busy(a) ?? false) - Number(listener?.busy(b) ?? false) || b - a).slice(0, this.held.size - target);
        await this.lose(extras, 'handed back');
        await store.release(extras.map((s) => this.leaseOf(s)));
      }
    } catch (error) {
      logger.warn({ err: error }, 'shard lease renewal failed');
      const now = performance.now();
      await this.lose([...this.held].filter(([, h]) => now >= h.validUntil).map(([shard]) => shard), 'lapsed');
    }
  }

  private async gain(shards: Map<number, number>, sentAt: number): Promise<void> {
    if (shards.size === 0) return;
    await this.listener?.shardsAcquired(shards);
    for (const [shard, epoch] of shards) {
      this.held.set(shard, { epoch, validUntil: sentAt + this.options.ttlMs });
      this.remote.delete(shard);
    }
    this.options.logger.info({ shards: shards.size, held: this.held.size }, 'account shards acquired');
  }

  private async lose(shards: readonly number[], why: string): Promise<void> {
    if (shards.length === 0) return;
    for (const shard of shards) this.held.delete(shard);
    await this.listener?.shardsLost(shards);
    this.options.logger[why === 'handed back' ? 'info' : 'warn']({ shards: shards.length, held: this.held.size }, `account shards ${why}`);
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
