/**
 * Per-user concurrency limits on expensive analysis work: backtests and forecasts in progress, and
 * tasks queued or running. One user past a limit gets 429 with Retry-After instead of taking the
 * worker pool, the task queue and the main thread's bar reads from everyone else. Counts are per
 * instance (a user's requests spread over N instances may hold N times the limit).
 */
import { TooManyRequestsError } from '../kernel/errors.ts';

export type ExpensiveWork = 'backtests' | 'predictions' | 'tasks';
export type UserLimitsConfig = Record<ExpensiveWork, number>;

/** The configuration's defaults (TACHYON_ANALYSIS_USER_*). */
export const DEFAULT_USER_LIMITS: UserLimitsConfig = { backtests: 2, predictions: 4, tasks: 10 };

const RETRY_AFTER_SECONDS: Record<ExpensiveWork, number> = { backtests: 1, predictions: 1, tasks: 5 };

export class UserLimits {
  private readonly active: Record<ExpensiveWork, Map<number, number>> = { backtests: new Map(), predictions: new Map(), tasks: new Map() };

  constructor(private readonly limits: UserLimitsConfig) {}

  /** Takes a slot or throws TooManyRequestsError (429); the returned function gives it back (once). */
  acquire(work: ExpensiveWork, userId: number): () => void {
    const counts = this.active[work];
    const held = counts.get(userId) ?? 0;
    const limit = this.limits[work];
    if (held >= limit) {
      throw new TooManyRequestsError(`at most ${limit} ${work} in progress per user; retry when one has finished`, { limit, work }, RETRY_AFTER_SECONDS[work]);
    }
    counts.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(userId) ?? 1) - 1;
      if (left === 0) counts.delete(userId);
      else counts.set(userId, left);
    };
  }

  /** Runs `work` holding a slot. */
  async run<T>(work: ExpensiveWork, userId: number, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(work, userId);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Slots held now, by kind (metrics and tests). */
  held(work: ExpensiveWork, userId: number): number {
    return this.active[work].get(userId) ?? 0;
  }
}
