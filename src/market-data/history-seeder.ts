/**
 * Loads deterministic history (history.ts) into the bar tables: clears the window, streams
 * 1-minute batches through COPY, then rolls finished days up into daily bars. Used by
 * `tachyon seed` and by the first `tachyon start` on an empty database.
 */
import { setImmediate } from 'node:timers/promises';
import type { Database } from '../db/database.ts';
import { BarStore } from './bar-store.ts';
import { generateHistory, historyRowCount, historyStart, type HistoryOptions } from './history.ts';
import { utcDayStart } from './market-clock.ts';

export interface SeedProgress {
  /** Called once with the row count before loading, then after each batch. */
  start(totalRows: number): void;
  tick(rows: number): void;
}

/** Stops between batches when `signal` aborts (a shutdown during a first-start seed). */
export async function seedHistory(db: Database, options: HistoryOptions, progress?: SeedProgress, signal?: AbortSignal): Promise<{ rows: number; days: number }> {
  const bars = new BarStore(db);
  const total = historyRowCount(options);
  progress?.start(total);
  const touched = new Set<number>();
  // History is deterministic: re-seeding replaces its window rather than duplicating it.
  await bars.deleteRange(historyStart(options), options.endMs);
  for (const batch of generateHistory(options)) {
    signal?.throwIfAborted();
    for (const day of await bars.bulkLoad(batch)) touched.add(day);
    progress?.tick(batch.length);
    // The embedded engine answers on microtasks: yield so requests are served between batches.
    await setImmediate();
  }
  // Today's roll-up is left to the live bar writer, which keeps extending it.
  const today = utcDayStart(options.endMs);
  await bars.rollUpDays([...touched].filter((d) => d < today));
  // Fresh statistics, or the planner keeps estimating an empty table for range scans.
  await db.exec('ANALYZE bars_1m, bars_1d');
  await bars.recordLoad(historyStart(options), options.endMs, total);
  return { rows: total, days: touched.size };
}

/** True when no 1-minute bar is stored yet (a first start). */
export async function hasNoHistory(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM bars_1m) AS any');
  return !rows[0]?.any;
}
