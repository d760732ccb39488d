/**
 * Loads deterministic history (history.ts) into the bar tables: clears the window, streams
 * 1-minute batches through COPY, then rolls finished days up into daily bars. Used by
 * `tachyon seed` and by the first `tachyon start` on an empty database.
 */
import { setImmediate } from 'node:timers/promises';
import type { Database } from '../db/database.ts';
import { BarStore } from './bar-store.ts';
import { historyRowCount, historyStart, type HistoryOptions } from './history.ts';
import { localHistorySource, type HistorySourceFactory } from './history-source.ts';
import { utcDayStart } from './market-clock.ts';

export interface SeedProgress {
  /** Called once with the row count before loading, then after each batch. */
  start(totalRows: number): void;
  tick(rows: number): void;
}

/**
 * Gives the event loop back after a slice that took `busyMs`, for as long as requests need it (a
 * server seeding in the background); without one, batches follow each other at full speed.
 * `busyMs` is the slice's duration: with the embedded engine in-process that is this thread's
 * time; with the engine on its own thread it is the engine's, and pausing as long keeps the engine
 * free at least half the time for the statements requests wait on (an order's commit). This
 * thread's event-loop utilization was tried instead and measured worse: it also counts the requests
 * and feed ticks served during the slice, so on a busy machine the loader crawled (628 rows/s).
 */
export type Pace = (busyMs: number) => Promise<void>;

/** Runs `slice`, then `pace` with how long it took. */
async function paced<T>(slice: () => Promise<T>, pace: Pace): Promise<T> {
  const started = performance.now();
  const result = await slice();
  await pace(performance.now() - started);
  return result;
}

/** Instruments per roll-up statement when paced: each statement stays a few milliseconds long. */
const ROLLUP_SLICE = 10;
/** ANALYZE samples 300 × this many rows when paced (about 60 ms instead of 500 ms). */
const PACED_STATISTICS_TARGET = 20;

/**
 * Stops between batches when `signal` aborts (a shutdown during a first-start seed). `source` makes
 * the slices' text: on this thread by default, on a thread of its own for a serving instance.
 */
export async function seedHistory(
  db: Database,
  options: HistoryOptions,
  progress?: SeedProgress,
  signal?: AbortSignal,
  pace?: Pace,
  source: HistorySourceFactory = localHistorySource,
): Promise<{ rows: number; days: number }> {
  const bars = new BarStore(db);
  const total = historyRowCount(options);
  progress?.start(total);
  const touched = new Set<number>();
  // The embedded engine runs each statement on this thread: without a pace, still yield so requests are served between batches.
  const between = pace ?? (() => setImmediate());
  // History is deterministic: re-seeding replaces its window rather than duplicating it.
  await bars.deleteRange(historyStart(options), options.endMs);
  const slices = source(options);
  try {
    for (;;) {
      signal?.throwIfAborted();
      // Making the slice is part of it: on this thread, the pace accounts for it.
      const done = await paced(async () => {
        const next = await slices.next();
        if (!next) return true;
        for (const day of await bars.loadEncoded(next)) touched.add(day);
        progress?.tick(next.rows);
        return false;
      }, between);
      if (done) break;
    }
  } finally {
    await slices.close();
  }
  // Today's roll-up is left to the live bar writer, which keeps extending it.
  const today = utcDayStart(options.endMs);
  const finished = [...touched].filter((d) => d < today).sort((a, b) => a - b);
  if (!pace) await bars.rollUpDays(finished);
  else {
    const ids = options.instruments.map((i) => i.id).sort((a, b) => a - b);
    for (const day of finished) {
      for (let k = 0; k < ids.length; k += ROLLUP_SLICE) {
        signal?.throwIfAborted();
        await paced(() => bars.rollUpDay(day, ids[k]!, ids[Math.min(k + ROLLUP_SLICE, ids.length) - 1]!), pace);
      }
    }
  }
  // Fresh statistics, or the planner keeps estimating an empty table for range scans. Paced, a
  // smaller sample (the default samples 30,000 rows: ~0.5 s on the embedded engine's thread).
  if (!pace) await db.exec('ANALYZE bars_1m, bars_1d');
  else {
    // One table per statement: a statement holds the engine (and whoever waits on it) while it runs.
    for (const table of ['bars_1m', 'bars_1d']) {
      await paced(
        () =>
          db.transaction(async (tx) => {
            await tx.exec(`SET LOCAL default_statistics_target = ${PACED_STATISTICS_TARGET}`);
            await tx.exec(`ANALYZE ${table}`);
          }),
        pace,
      );
    }
  }
  await bars.recordLoad(historyStart(options), options.endMs, total);
  return { rows: total, days: touched.size };
}

/** True when no 1-minute bar is stored yet (a first start). */
export async function hasNoHistory(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM bars_1m) AS any');
  return !rows[0]?.any;
}
