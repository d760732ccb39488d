/**
 * A token bucket refilled continuously at `perSecond`, holding at most one second's allowance (the
 * WebSocket message and snapshot budgets, the per-account order rate).
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.refilledAt = now;
  }

  /** Takes one token when there is one. `perSecond` is for a limit that may change at run time (it applies at once). */
  take(now: number, perSecond = this.perSecond): boolean {
    const elapsed = now - this.refilledAt;
    // A clock stepping back refills nothing (and takes nothing back).
    if (elapsed > 0) this.refilledAt = now;
    this.tokens = Math.min(perSecond, this.tokens + (Math.max(0, elapsed) * perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
