/**
 * Cross-instance stampede protection. BentoCache runs one loader per key per process; with N
 * instances a cold key still hits the database N times (asked upstream, declined: the lock is
 * left to applications). The first instance takes a short Redis lock (SET NX PX); the others
 * poll L2 for the value it writes, and load it themselves only if the lock expires first or
 * Redis cannot be asked (availability wins over strictness).
 */
import { randomBytes } from 'node:crypto';
import type { RedisLink } from './redis-link.ts';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class DistributedLock {
  constructor(
    private readonly link: RedisLink,
    private readonly ttlMs: number,
  ) {}

  /** A token when the lock was taken, `undefined` when another instance holds it, `null` when Redis is unavailable. */
  async acquire(key: string): Promise<string | undefined | null> {
    const token = randomBytes(8).toString('hex');
    try {
      const ok = await this.link.run((r) => r.set(`${key}:lock`, token, 'PX', this.ttlMs, 'NX'));
      return ok === 'OK' ? token : undefined;
    } catch {
      return null;
    }
  }

  async release(key: string, token: string): Promise<void> {
    await this.link.run((r) => r.eval(RELEASE, 1, `${key}:lock`, token)).catch(() => {});
  }

  async held(key: string): Promise<boolean> {
    try {
      return (await this.link.run((r) => r.exists(`${key}:lock`))) === 1;
    } catch {
      return false;
    }
  }
}
