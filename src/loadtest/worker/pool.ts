/**
 * Main-thread side of a multi-threaded run: one worker per shard, all started at the same instant
 * once every worker has loaded the scenario, their metric deltas merged into one registry.
 */
import { Worker } from 'node:worker_threads';
import { COMPILED, runnableModule } from '../../kernel/project-files.ts';
import type { MetricsRegistry } from '../metrics.ts';
import { epochNowMs } from '../metrics.ts';
import type { ShardParams } from '../shard.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';

/** Compiled, the thread loads entry.js itself; from the sources it needs the bootstrap that registers tsx. */
const ENTRY = COMPILED ? runnableModule('./entry.ts', import.meta.url) : new URL('./bootstrap.mjs', import.meta.url);
/** Margin between "all ready" and the shared start, so every thread sees the start in the future. */
const START_MARGIN_MS = 50;

export interface WorkerRun {
  /** Resolves with the run start instant once every worker is ready. */
  started: Promise<number>;
  finished: Promise<Array<[string, number]>>;
}

/**
 * `shardIds` picks which of the run's `params.shards` shards run here, one thread each (default all):
 * a load-test agent runs only its execution segment's shards. `startAt` chooses the shared start
 * instant once every thread is ready (default: now plus a small margin). `metrics` receives every
 * thread's deltas: a registry merges them; an agent only queues them for its coordinator.
 */
export function runInWorkers(
  scenarioUrl: string,
  params: Omit<ShardParams, 'startMs' | 'shard'>,
  metrics: (startMs: number) => Pick<MetricsRegistry, 'merge'>,
  stop: AbortSignal,
  shardIds: readonly number[] = Array.from({ length: params.shards }, (_, shard) => shard),
  startAt: () => Promise<number> = async () => epochNowMs() + START_MARGIN_MS,
): WorkerRun {
  const workers = shardIds.map((shard) => {
    const init: WorkerInit = { scenarioUrl, params: { ...params, shard } };
    return new Worker(ENTRY, { workerData: init });
  });
  const send = (message: ToWorker): void => workers.forEach((w) => w.postMessage(message));
  let registry: Pick<MetricsRegistry, 'merge'> | undefined;
  const ready = workers.map((w) => new Promise<void>((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'ready') resolve();
      if (m.type === 'failed') reject(new Error(m.message));
    };
    w.on('message', onMessage);
    w.once('error', reject);
  }));
  const started = Promise.all(ready).then(startAt).then((startMs) => {
    registry = metrics(startMs);
    send({ type: 'start', startMs });
    return startMs;
  });
  started.catch(() => workers.forEach((w) => void w.terminate()));
  const onStop = (): void => send({ type: 'stop' });
  stop.addEventListener('abort', onStop, { once: true });

  const finished = started.then(() => Promise.all(workers.map((w) => new Promise<Array<[string, number]>>((resolve, reject) => {
    w.on('message', (m: FromWorker) => {
      if (m.type === 'metrics') registry?.merge(m.snapshot);
      else if (m.type === 'done') {
        registry?.merge(m.snapshot);
        resolve(m.errors);
      } else if (m.type === 'failed') reject(new Error(m.message));
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`load worker exited with code ${code}`)));
  })))).then((lists) => lists.flat()).finally(() => {
    stop.removeEventListener('abort', onStop);
    workers.forEach((w) => void w.terminate());
  });
  return { started, finished };
}
