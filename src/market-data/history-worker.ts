/**
 * Worker-thread entry of threadHistorySource (history-source.ts): generates and encodes the
 * history's slices, one ahead of what was asked for, and answers each 'next' with one (null: done).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CopyEncoder, type EncodedBars } from './bar-store.ts';
import { generateHistory } from './history.ts';
import type { HistoryWorkerData } from './history-source.ts';
import { MarketClock } from './market-clock.ts';

const port = parentPort;
if (!port) throw new Error('history-worker runs as a worker thread');
const { hours, ...options } = workerData as HistoryWorkerData;
const batches = generateHistory({ ...options, marketClock: new MarketClock(hours) });
const encoder = new CopyEncoder();

const produce = (): EncodedBars | null => {
  const next = batches.next();
  return next.done ? null : encoder.encode(next.value);
};

let ready = produce();
port.on('message', () => {
  port.postMessage(ready);
  if (ready) ready = produce();
});
