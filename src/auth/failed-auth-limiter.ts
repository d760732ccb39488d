/**
 * Failed authentication per client address: past `maxFailures` in a window, that address's
 * unrecognised tokens answer 429 with Retry-After without reaching the database, so guessing
 * tokens is slow and a flood of random ones costs one Map lookup each. Tokens already known to
 * the authenticator still pass (they never get here). The table is bounded (kernel/fixed-windows.ts).
 */
import type { Clock } from '../kernel/clock.ts';
import { FixedWindows } from '../kernel/fixed-windows.ts';

export interface FailedAuthLimits {
  /** Failures an address may have in one window (0 disables the limit). */
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at once. */
  maxAddresses: number;
}

export class FailedAuthLimiter {
  private readonly windows: FixedWindows;

  constructor(
    private readonly limits: FailedAuthLimits,
    private readonly clock: Clock,
  ) {
    this.windows = new FixedWindows(limits.windowMs, limits.maxAddresses);
  }

  /** Milliseconds until `address` may try again, or undefined when it may try now. */
  blockedFor(address: string): number | undefined {
    if (this.limits.maxFailures <= 0) return undefined;
    const now = this.clock.now();
    const window = this.windows.current(address, now);
    return window && window.count >= this.limits.maxFailures ? window.endsAt - now : undefined;
  }

  recordFailure(address: string): void {
    if (this.limits.maxFailures <= 0) return;
    this.windows.hit(address, this.clock.now());
  }

  get size(): number {
    return this.windows.size;
  }
}
