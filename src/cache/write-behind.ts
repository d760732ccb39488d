/**
 * Write-behind: the cache takes a value now and its persistence runs later, coalesced per key
 * (the last value wins) and flushed on an interval and at stop. Only for recomputable data:
 * a write lost in a crash costs a recomputation, never a wrong answer.
 */
export type Persist = (value: unknown) => Promise<void>;

export class WriteBehindQueue {
  private pending = new Map<string, { value: unknown; persist: Persist }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  written = 0;
  failed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly onError: (error: unknown, key: string) => void,
  ) {}

  enqueue(key: string, value: unknown, persist: Persist): void {
    this.pending.set(key, { value, persist });
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  get size(): number {
    return this.pending.size;
  }

  /** Persists everything queued so far; concurrent calls share one pass. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = (async () => {
      for (const [key, { value, persist }] of batch) {
        try {
          await persist(value);
          this.written++;
        } catch (error) {
          this.failed++;
          this.onError(error, key);
        }
      }
    })();
    await this.flushing;
    this.flushing = undefined;
  }
}
