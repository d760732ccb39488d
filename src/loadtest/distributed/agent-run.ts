/**
 * One run on an agent: its shards in worker threads (the agent's main thread only answers the
 * coordinator, so polling never delays the generator's event loop), started at the instant the
 * coordinator names, metric deltas drained on every poll.
 */
import { fileURLToPath } from 'node:url';
import { BadRequestError } from '../../kernel/errors.ts';
import { isBuiltin, scenarioPath } from '../builtin.ts';
import { waitUntil } from '../executors/slot.ts';
import type { Guardrails } from '../guardrails.ts';
import { scenarioUrl } from '../load-scenario.ts';
import { epochNowMs } from '../metrics.ts';
import type { MetricsSnapshot } from '../metrics.ts';
import { planOf } from '../plan.ts';
import { enforceGuardrails } from '../run.ts';
import type { ExecutorConfig } from '../scenario.ts';
import { runInWorkers } from '../worker/pool.ts';
import { BUILTIN_PREFIX } from './protocol.ts';
import type { MetricsResponse, PrepareRequest, RunState } from './protocol.ts';

/** Threads get the start message this long before the start instant (their own waits do the rest). */
const START_LEAD_MS = 50;

export class AgentRun {
  private state: RunState | 'preparing' = 'preparing';
  /** Threads' deltas, forwarded as they came: the coordinator merges them (decoding them here would double the work). */
  private readonly pending: MetricsSnapshot[] = [];
  private errors: Array<[string, number]> | undefined;
  private message: string | undefined;
  private endedMs: number | undefined;
  private readonly stopper = new AbortController();
  private startWith: ((startMs: number) => void) | undefined;
  private readonly startReceived = new Promise<number>((resolve) => (this.startWith = resolve));
  /** Last time the coordinator spoke about this run (the agent's watchdog reads it). */
  lastContactMs = Date.now();

  private constructor(readonly id: string) {}

  /** Validates the request against this agent's own guardrails, then loads the scenario in every thread. */
  static async prepare(request: PrepareRequest, guardrails: Guardrails): Promise<AgentRun> {
    const run = new AgentRun(request.runId);
    const url = resolveScenario(request.scenario);
    const plan = planOf(request.executor as unknown as ExecutorConfig);
    let target: URL;
    try {
      target = new URL(request.target);
    } catch {
      throw new BadRequestError(`target must be an absolute URL, got "${request.target}"`);
    }
    if (new Set(request.shardIds).size !== request.shardIds.length || request.shardIds.some((s) => s >= request.shards)) {
      throw new BadRequestError(`shardIds must be distinct and below shards (${request.shards})`);
    }
    // The agent is the one sending the load: its own limits (allowed hosts above all) apply, whatever the coordinator says.
    enforceGuardrails(guardrails, target, plan, request.shardIds.length);
    let ready: (() => void) | undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const params = {
      plan, target: target.href, guardrails, baseTags: request.baseTags, data: request.data,
      shards: request.shards, gracefulStopMs: request.gracefulStopMs,
      ...(request.connections !== undefined ? { connections: request.connections } : {}),
    };
    const workers = runInWorkers(url, params, () => ({ merge: (snapshot) => run.pending.push(snapshot) }), run.stopper.signal, request.shardIds, async () => {
      ready?.();
      const startMs = await Promise.race([run.startReceived, aborted(run.stopper.signal)]);
      await waitUntil(startMs - START_LEAD_MS, run.stopper.signal);
      run.state = 'running';
      return startMs;
    });
    workers.finished.then(
      (errors) => {
        run.errors = errors;
        run.endedMs = epochNowMs();
        run.state = 'done';
      },
      (error: unknown) => {
        run.message = error instanceof Error ? error.message : String(error);
        run.state = 'failed';
      },
    );
    // A thread that cannot load the scenario rejects `started` before the others are ready.
    await Promise.race([isReady, workers.started]);
    run.state = 'ready';
    return run;
  }

  start(startMs: number): void {
    this.startWith?.(startMs);
  }

  stop(reason = 'stopped by the coordinator'): void {
    this.stopper.abort(reason);
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'failed';
  }

  /** The delta since the last collect; the errors (and the end) once every thread is done. */
  collect(): MetricsResponse {
    const state = this.state === 'preparing' ? 'ready' : this.state;
    const snapshot: MetricsSnapshot = { series: this.pending.splice(0).flatMap((s) => s.series) };
    return { state, snapshot, ...(this.errors ? { errors: this.errors } : {}), ...(this.message ? { message: this.message } : {}), ...(this.endedMs ? { endedMs: this.endedMs } : {}) };
  }
}

/** `builtin:<name>` is the agent's own copy of a built-in scenario; anything else is a module URL or path it can read. */
function resolveScenario(reference: string): string {
  if (reference.startsWith(BUILTIN_PREFIX)) {
    const name = reference.slice(BUILTIN_PREFIX.length);
    if (!isBuiltin(name)) throw new BadRequestError(`unknown built-in scenario "${name}"`);
    return scenarioUrl(scenarioPath(name));
  }
  const url = scenarioUrl(reference);
  if (url.startsWith('file:')) scenarioPath(fileURLToPath(url)); // must exist here: a clear 400 instead of a thread's import error
  return url;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(new Error(String(signal.reason ?? 'stopped before the start')));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
