/**
 * Background loading of demo history on a serving instance (first start, or `tachyon seed` sent to
 * a running server). Slices are generated and encoded on a thread of their own (history-source.ts)
 * and loaded by short statements (small COPY batches, the daily roll-up a few instruments at a
 * time) that the embedded engine runs on its own thread too (db/pglite-thread.ts), so an order's
 * commit waits behind one slice at most; the pacer pauses between slices at least as long as the
 * slice ran, longer while the event loop's measured delay says requests wait. While it loads, a read that
 * finds a symbol's history short or empty answers 503 "history is loading, N% done" with a
 * Retry-After instead of an empty or "no history" answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import { ERROR_CODES, errorMessage } from '../kernel/error-codes.ts';
import { ConflictError, TachyonError } from '../kernel/errors.ts';
import type { Instrument } from './instrument.ts';
import type { MarketClock } from './market-clock.ts';
import { seedHistory, type Pace, type SeedProgress } from './history-seeder.ts';
import { threadHistorySource } from './history-source.ts';

/** Rows per COPY while serving: about 5 ms of the embedded engine's time each on an idle core. */
const SERVING_BATCH_ROWS = 1_000;
/** Event-loop delay (ms) above which the pacer backs off further. */
const TARGET_LAG_MS = 5;

export interface HistoryStatus {
  state: 'idle' | 'loading' | 'loaded' | 'failed' | 'stopped';
  days: number;
  totalRows: number;
  loadedRows: number;
  percent: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export class HistoryLoadingError extends TachyonError {
  constructor(percent: number, retryAfterSeconds: number) {
    super(ERROR_CODES.history_loading.status, 'history_loading', errorMessage('history_loading', { percent, retryAfterSeconds }), { percent, retryAfterSeconds }, retryAfterSeconds);
  }
}

/**
 * Sleeps after each slice for as long as it kept the loop busy, times a factor that doubles while
 * the sleep's own timer fires late (other work held the loop: requests are queued) and decays back
 * to 1 when the loop is free.
 */
export function loopPacer(targetLagMs = TARGET_LAG_MS): Pace {
  let factor = 1;
  return async (busyMs) => {
    const wait = Math.max(1, busyMs * factor);
    const started = performance.now();
    await sleep(wait);
    const lag = performance.now() - started - wait;
    factor = lag > targetLagMs ? Math.min(factor * 2, 8) : Math.max(1, factor * 0.75);
  };
}

export interface HistoryLoaderDeps {
  db: Database;
  instruments: readonly Instrument[];
  marketClock: MarketClock;
  clock: Clock;
  logger: Logger;
  seed: number;
}

export class HistoryLoader {
  private current: HistoryStatus = { state: 'idle', days: 0, totalRows: 0, loadedRows: 0, percent: 0 };
  private startedMs = 0;
  private running: Promise<unknown> | undefined;
  private abort = new AbortController();

  constructor(private readonly deps: HistoryLoaderDeps) {}

  get loading(): boolean {
    return this.current.state === 'loading';
  }

  status(): HistoryStatus {
    return { ...this.current };
  }

  /**
   * Loads `days` trading days of 1-minute history ending at the current minute, paced for a serving
   * instance; `progress` also follows it (a terminal's progress bar). 409 while a load is running.
   */
  load(days: number, progress?: SeedProgress, pace: Pace = loopPacer()): Promise<{ rows: number; days: number }> {
    if (this.loading) throw new ConflictError(`history is already loading (${this.current.percent}% done): wait for it to finish (progress: /api/health/detailed)`, { history: this.status() });
    this.abort = new AbortController();
    this.startedMs = performance.now();
    this.current = { state: 'loading', days, totalRows: 0, loadedRows: 0, percent: 0, startedAt: new Date(this.deps.clock.now()).toISOString() };
    const { db, instruments, marketClock, seed } = this.deps;
    const options = { instruments, marketClock, days, endMs: Math.floor(this.deps.clock.now() / 60_000) * 60_000, seed, batchSize: SERVING_BATCH_ROWS };
    const track: SeedProgress = {
      start: (total) => {
        this.current.totalRows = total;
        progress?.start(total);
      },
      tick: (rows) => {
        this.current.loadedRows += rows;
        // The roll-up and statistics follow the last row: 99% until they are done.
        this.current.percent = Math.min(99, Math.floor((this.current.loadedRows / Math.max(1, this.current.totalRows)) * 100));
        progress?.tick(rows);
      },
    };
    // Slices are generated on a thread of their own: this event loop only forwards them to the database.
    const run = seedHistory(db, options, track, this.abort.signal, pace, threadHistorySource).then(
      (result) => {
        this.finish('loaded');
        this.current.percent = 100;
        this.deps.logger.info({ rows: result.rows, days: result.days, seconds: Math.round(performance.now() - this.startedMs) / 1000 }, 'history loaded');
        return result;
      },
      (error: unknown) => {
        const stopped = this.abort.signal.aborted;
        this.finish(stopped ? 'stopped' : 'failed', stopped ? undefined : (error as Error).message);
        if (!stopped) this.deps.logger.error({ err: error }, 'loading history failed');
        throw error;
      },
    );
    this.running = run.catch(() => {});
    return run;
  }

  /** The 503 to answer instead of a short or empty history while loading, else undefined. */
  loadingError(): HistoryLoadingError | undefined {
    if (!this.loading) return undefined;
    const { loadedRows, totalRows, percent } = this.current;
    const elapsed = (performance.now() - this.startedMs) / 1000;
    const eta = loadedRows > 0 ? ((totalRows - loadedRows) * elapsed) / loadedRows : 30;
    return new HistoryLoadingError(percent, Math.min(30, Math.max(1, Math.ceil(eta))));
  }

  /** Stops a load in progress between two slices (shutdown) and waits for it. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private finish(state: HistoryStatus['state'], error?: string): void {
    this.current = { ...this.current, state, finishedAt: new Date(this.deps.clock.now()).toISOString(), ...(error ? { error } : {}) };
  }
}
