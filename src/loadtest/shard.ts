/**
 * Runs one thread's share of a load test: the same code in-process (workers = 1) and in each worker
 * thread. Owns this thread's HTTP pools and WebSockets and closes them at the end.
 */
import { setMaxListeners } from 'node:events';
import type WebSocket from 'ws';
import { runPlan } from './executors/index.ts';
import type { Guardrails } from './guardrails.ts';
import { HttpTransport } from './http-client.ts';
import type { MetricsRegistry, Tags } from './metrics.ts';
import type { Plan } from './plan.ts';
import type { Scenario } from './scenario.ts';
import { ErrorTally } from './vu.ts';

/** Structured-clone safe: also the payload a worker thread receives. */
export interface ShardParams {
  plan: Plan;
  target: string;
  guardrails: Guardrails;
  baseTags: Tags;
  data: unknown;
  startMs: number;
  shard: number;
  shards: number;
  gracefulStopMs: number;
  connections?: number;
}

export async function executeShard(scenario: Scenario, params: ShardParams, metrics: MetricsRegistry, stop: AbortSignal): Promise<Array<[string, number]>> {
  const abandon = new AbortController();
  // Every in-flight request and sleeping VU listens on these signals; thousands is by design.
  setMaxListeners(0, abandon.signal, stop);
  const onStop = (): void => abandon.abort();
  // A hard stop (cancel, threshold abort) also abandons in-flight requests at once.
  stop.addEventListener('abort', onStop, { once: true });
  const connections = params.connections ?? Math.max(1, Math.ceil(params.plan.maxVUs / params.shards));
  const transport = new HttpTransport(connections);
  const openSockets = new Set<WebSocket>();
  const errors = new ErrorTally();
  try {
    const env = { scenario, target: new URL(params.target), metrics, transport, guardrails: params.guardrails, baseTags: params.baseTags, data: params.data, signal: abandon.signal, openSockets, errors };
    const vus = await runPlan(params.plan, env, {
      shard: params.shard,
      shards: params.shards,
      startMs: params.startMs,
      stop,
      gracefulStopMs: params.gracefulStopMs,
      abandon: () => abandon.abort(),
    });
    // After a cancel, or once in-flight iterations were cut off, a VU's state is incomplete: nothing to verify.
    if (!abandon.signal.aborted) await Promise.all(vus.map((vu) => vu.teardown()));
    else if (!stop.aborted) errors.add(`iterations still running ${params.gracefulStopMs} ms after the schedule ended were abandoned: vuTeardown (per-VU verification) skipped; raise gracefulStop`);
  } finally {
    stop.removeEventListener('abort', onStop);
    for (const socket of openSockets) socket.terminate();
    await transport.close();
  }
  return errors.entries();
}
