/** What an executor needs to know about its place in the run (this thread's shard, timing, stop). */
import { setImmediate as yieldToIo, setTimeout as delay } from 'node:timers/promises';
import { epochNowMs } from '../metrics.ts';

export interface ExecutionSlot {
  /** This thread's index among `shards` threads splitting the run. */
  shard: number;
  shards: number;
  /** Run start (epochNowMs clock) shared by all threads. */
  startMs: number;
  /** Aborted to stop starting iterations right away (cancellation, threshold abort). */
  stop: AbortSignal;
  gracefulStopMs: number;
  /** Abandons in-flight iterations (aborts their requests). */
  abandon(): void;
}

/**
 * Sleeps until an epoch-ms instant. Node timers have 1 ms granularity and fire late, and in the open
 * model lateness is charged to latency, so the last millisecond is waited by yielding to I/O instead.
 */
export async function waitUntil(atMs: number, stop: AbortSignal): Promise<void> {
  let remaining = atMs - epochNowMs();
  if (remaining > 2) {
    await delay(remaining - 1, undefined, { signal: stop }).catch(() => undefined);
    remaining = atMs - epochNowMs();
  }
  while (remaining > 0 && !stop.aborted) {
    await yieldToIo();
    remaining = atMs - epochNowMs();
  }
}
