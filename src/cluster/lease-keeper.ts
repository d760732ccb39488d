/**
 * Keeps one named lease for as long as this instance runs (the feed leader, a run-once job): tries to
 * take it every `renewEveryMs`, renews it while held, and tells the owner when it gains or loses it.
 * A renewal that cannot reach the database does not keep the lease: once the lease's time has passed
 * by this process's monotonic clock, counted from when the last successful request was sent, the
 * keeper reports it lost, so a partitioned holder steps down before another instance can take over.
 */
import type { Logger } from 'pino';
import type { Lease, LeaseStore } from './leases.ts';

export interface LeaseKeeperOptions {
  store: LeaseStore;
  name: string;
  ttlMs: number;
  /** How often to try or renew; a third of the TTL leaves two retries before the lease lapses. */
  renewEveryMs?: number;
  logger: Logger;
  onAcquired(lease: Lease): void | Promise<void>;
  onLost(name: string): void | Promise<void>;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private current: Lease | undefined;
  /** performance.now() after which the held lease may have lapsed. */
  private validUntil = 0;
  private tick: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** The lease while held. */
  get lease(): Lease | undefined {
    return this.current && performance.now() < this.validUntil ? this.current : undefined;
  }

  get held(): boolean {
    return this.lease !== undefined;
  }

  /** Tries once now (so a single instance leads from its first moment), then keeps trying. */
  async start(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run(), this.options.renewEveryMs ?? Math.floor(this.options.ttlMs / 3));
    this.timer.unref();
  }

  /** Stops trying; a held lease is released (after the owner's own shutdown work) so another takes over at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.tick;
    if (!this.current) return;
    const name = this.current.name;
    await this.lose();
    await this.options.store.release([name]).catch((error: unknown) => this.options.logger.warn({ err: error, lease: name }, 'lease release failed; it lapses by itself'));
  }

  private run(): Promise<void> {
    this.tick = this.tick.then(() => this.attempt());
    return this.tick;
  }

  private async attempt(): Promise<void> {
    const { store, name, ttlMs, logger } = this.options;
    const sentAt = performance.now();
    try {
      const [lease] = this.current ? await store.renew([name], ttlMs) : await store.acquire([name], ttlMs);
      if (lease && this.current && lease.epoch === this.current.epoch) {
        this.validUntil = sentAt + ttlMs;
        return;
      }
      if (this.current) await this.lose();
      if (!lease) return;
      this.current = lease;
      this.validUntil = sentAt + ttlMs;
      logger.info({ lease: name, epoch: lease.epoch }, 'lease acquired');
      await this.options.onAcquired(lease);
    } catch (error) {
      logger.warn({ err: error, lease: name }, 'lease request failed');
      if (this.current && performance.now() >= this.validUntil) await this.lose();
    }
  }

  private async lose(): Promise<void> {
    const name = this.current!.name;
    this.current = undefined;
    this.validUntil = 0;
    this.options.logger.warn({ lease: name }, 'lease lost');
    await this.options.onLost(name);
  }
}
