/**
 * Counts per key in fixed time windows, in a bounded table: the request rate limit
 * (http/rate-limit.ts) and failed authentication per address (auth/failed-auth-limiter.ts). When the
 * table is full the oldest window is dropped first (Maps iterate in insertion order and a renewed
 * window is re-inserted), so a spray of keys costs memory up to the bound and no more.
 */
export interface WindowCount {
  count: number;
  /** Epoch ms at which this window closes. */
  endsAt: number;
}

/** `K`: the key type; a number key (a user id) is hashed for free, a string is hashed on every lookup. */
export class FixedWindows<K = string> {
  private readonly windows = new Map<K, WindowCount>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** Counts one for `key` at `now`; the window returned includes it (the same object until it closes). */
  hit(key: K, now: number): WindowCount {
    const window = this.windows.get(key);
    if (window && window.endsAt > now) {
      window.count++;
      return window;
    }
    return this.open(key, window, now);
  }

  /**
   * Counts one for `key` at `now` only while its open window holds fewer than `max`; undefined (nothing
   * counted) otherwise. One lookup, where `current` then `hit` would take two.
   */
  hitBelow(key: K, now: number, max: number): WindowCount | undefined {
    const window = this.windows.get(key);
    if (window && window.endsAt > now) {
      if (window.count >= max) return undefined;
      window.count++;
      return window;
    }
    return max > 0 ? this.open(key, window, now) : undefined;
  }

  /** Starts `key`'s window at `now` with one hit, replacing its closed one (`closed`) if any. */
  private open(key: K, closed: WindowCount | undefined, now: number): WindowCount {
    if (closed) this.windows.delete(key);
    else if (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    const fresh = { count: 1, endsAt: now + this.windowMs };
    this.windows.set(key, fresh);
    return fresh;
  }

  /** The window `key` is in at `now`, if one is open (a closed one is dropped). */
  current(key: K, now: number): WindowCount | undefined {
    const window = this.windows.get(key);
    if (!window || window.endsAt > now) return window;
    this.windows.delete(key);
    return undefined;
  }

  get size(): number {
    return this.windows.size;
  }
}
