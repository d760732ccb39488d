/**
 * Failed authentication per client address: past `maxFailures` in a window, that address's
 * unrecognised tokens answer 429 with Retry-After without reaching the database, so guessing
 * tokens is slow and a flood of random ones costs one Map lookup each. Tokens already known to
 * the authenticator still pass (they never get here). The table is bounded: the oldest address is
 * dropped first, so a spray from many addresses costs memory up to the bound and no more.
 */
import type { Clock } from '../kernel/clock.ts';

export interface FailedAuthLimits {
  /** Failures an address may have in one window (0 disables the limit). */
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at once. */
  maxAddresses: number;
}

interface Window {
  failures: number;
  endsAt: number;
}

export class FailedAuthLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limits: FailedAuthLimits,
    private readonly clock: Clock,
  ) {}

  /** Milliseconds until `address` may try again, or undefined when it may try now. */
  blockedFor(address: string): number | undefined {
    if (this.limits.maxFailures <= 0) return undefined;
    const window = this.windows.get(address);
    if (!window) return undefined;
    const left = window.endsAt - this.clock.now();
    if (left <= 0) {
      this.windows.delete(address);
      return undefined;
    }
    return window.failures >= this.limits.maxFailures ? left : undefined;
  }

  recordFailure(address: string): void {
    if (this.limits.maxFailures <= 0) return;
    const now = this.clock.now();
    const window = this.windows.get(address);
    if (window && window.endsAt > now) {
      window.failures++;
      return;
    }
    if (window) this.windows.delete(address);
    else if (this.windows.size >= this.limits.maxAddresses) {
      // Maps iterate in insertion order: the first key is the oldest window.
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { failures: 1, endsAt: now + this.limits.windowMs });
  }

  get size(): number {
    return this.windows.size;
  }
}
