/**
 * Worker-thread side: import the scenario, wait for the shared start instant, run this shard, and
 * stream metric deltas every second (the main thread needs them for live progress and abort-on-fail).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { importScenario } from '../load-scenario.ts';
import { MetricsRegistry } from '../metrics.ts';
import { executeShard } from '../shard.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker entry must run in a worker thread');
const init = workerData as WorkerInit;
const post = (message: FromWorker): void => port.postMessage(message);
const stop = new AbortController();

try {
  const scenario = await importScenario(init.scenarioUrl);
  const startMs = await new Promise<number>((resolve) => {
    port.on('message', (message: ToWorker) => {
      if (message.type === 'start') resolve(message.startMs);
      else stop.abort();
    });
    post({ type: 'ready' });
  });
  const metrics = new MetricsRegistry(startMs);
  const flush = setInterval(() => post({ type: 'metrics', snapshot: metrics.drain() }), 1000);
  try {
    const errors = await executeShard(scenario, { ...init.params, startMs }, metrics, stop.signal);
    post({ type: 'done', snapshot: metrics.drain(), errors });
  } finally {
    clearInterval(flush);
  }
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
port.close();
