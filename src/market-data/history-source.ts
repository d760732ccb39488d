/**
 * Where the seeder's COPY text comes from: generated and encoded on this thread (`tachyon seed`,
 * tests), or on a worker thread of its own (history-worker.ts) for a serving instance, whose
 * event loop then only forwards each slice's text to the database. The worker prepares the next
 * slice while the database loads the current one.
 */
import { Worker } from 'node:worker_threads';
import { SMALL_YOUNG_GENERATION, workerEntry } from '../kernel/project-files.ts';
import { CopyEncoder, type EncodedBars } from './bar-store.ts';
import { generateHistory, type HistoryOptions } from './history.ts';
import type { MarketHours } from './market-clock.ts';

export interface HistorySource {
  /** The next slice, or undefined when the history is complete. */
  next(): Promise<EncodedBars | undefined>;
  close(): Promise<void>;
}

export type HistorySourceFactory = (options: HistoryOptions) => HistorySource;

/** What the worker needs to rebuild the options (a MarketClock does not cross threads; its hours do). */
export interface HistoryWorkerData extends Omit<HistoryOptions, 'marketClock'> {
  hours: MarketHours;
}

export const localHistorySource: HistorySourceFactory = (options) => {
  const batches = generateHistory(options);
  const encoder = new CopyEncoder();
  return {
    async next() {
      const next = batches.next();
      return next.done ? undefined : encoder.encode(next.value);
    },
    async close() {},
  };
};

export const threadHistorySource: HistorySourceFactory = (options) => {
  const { marketClock, ...rest } = options;
  const entry = workerEntry('./history-worker.ts', import.meta.url, { ...rest, hours: marketClock.hours } satisfies HistoryWorkerData);
  // Each slice is garbage once sent.
  const worker = new Worker(entry.filename, { workerData: entry.workerData, resourceLimits: SMALL_YOUNG_GENERATION });
  let waiting: { resolve(bars: EncodedBars | undefined): void; reject(error: Error): void } | undefined;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    waiting?.reject(failure);
    waiting = undefined;
  };
  worker.on('message', (bars: EncodedBars | null) => {
    waiting?.resolve(bars ?? undefined);
    waiting = undefined;
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the history generator thread exited with code ${code}`)));
  return {
    next() {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        worker.postMessage('next');
      });
    },
    async close() {
      failure ??= new Error('the history source is closed');
      await worker.terminate();
    },
  };
};
