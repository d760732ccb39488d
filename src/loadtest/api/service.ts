/**
 * Load tests started through the admin API: one at a time per instance (a second start is a 409, so
 * two runs never share — and skew — one generator), run in the background, cancellable, recorded in
 * `load_test_runs`. The run acts with its starter's admin token (it creates the VU accounts) and
 * targets this instance unless told otherwise, within the configured guardrails.
 */
import type { Logger } from 'pino';
import { ConflictError, NotFoundError } from '../../kernel/errors.ts';
import { isBuiltin, scenarioPath } from '../builtin.ts';
import type { Guardrails } from '../guardrails.ts';
import { latencyStats } from '../histogram.ts';
import type { Progress } from '../progress.ts';
import type { RunResult } from '../results.ts';
import { checkRun, runLoadTest } from '../run.ts';
import type { ThresholdInput } from '../scenario.ts';
import type { RunRow, RunStore, RunSummary } from './store.ts';

export interface StartRequest {
  scenario: string;
  target?: string;
  duration?: string;
  rate?: number;
  vus?: number;
  workers?: number;
  thresholds?: ThresholdInput;
  tags?: Record<string, string>;
}

interface ActiveRun {
  id: number;
  controller: AbortController;
  done: Promise<void>;
  progress: Progress | undefined;
}

export interface LoadTestServiceDeps {
  store: RunStore;
  guardrails: Partial<Guardrails>;
  instanceId: string;
  logger: Logger;
}

export class LoadTestService {
  private active: ActiveRun | undefined;
  private defaultTarget: string | undefined;

  constructor(private readonly deps: LoadTestServiceDeps) {}

  /** The instance's own address, once listening: runs without a target load this instance. */
  setDefaultTarget(address: string): void {
    const url = new URL(address);
    // Listening on every interface: reach ourselves over loopback (which the default allow-list permits).
    if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
    this.defaultTarget = url.origin;
  }

  async start(request: StartRequest, caller: { userId: number; token: string }): Promise<RunRow> {
    if (!isBuiltin(request.scenario)) throw new NotFoundError(`unknown scenario "${request.scenario}"`);
    if (this.active) throw new ConflictError(`load test ${this.active.id} is already running on this instance; cancel it or wait`);
    const target = request.target ?? this.defaultTarget;
    if (!target) throw new ConflictError('this instance is not listening yet; give a target');
    const { scenario, target: _target, ...options } = request;
    const controller = new AbortController();
    // Claim the slot before the first await, so two concurrent starts cannot both pass the check.
    const active: ActiveRun = { id: 0, controller, done: Promise.resolve(), progress: undefined };
    this.active = active;
    const path = scenarioPath(scenario);
    const runOptions = { ...options, target, name: scenario, guardrails: this.deps.guardrails, signal: controller.signal, env: { TACHYON_ADMIN_TOKEN: caller.token } };
    let row: RunRow;
    try {
      // Guardrail and validation refusals are answered now (4xx), before a row or any load exists.
      await checkRun(path, runOptions);
      row = await this.deps.store.create({ instanceId: this.deps.instanceId, scenario, target, options, createdBy: caller.userId });
    } catch (error) {
      this.active = undefined;
      throw error;
    }
    active.id = row.id;
    const run = runLoadTest(path, { ...runOptions, onProgress: (p) => (active.progress = p) });
    active.done = run.then(
      (result) => this.deps.store.finish(row.id, { status: statusOf(result), summary: summarize(result), result }),
      (error: unknown) => {
        this.deps.logger.error({ err: error, run: row.id }, 'load test failed');
        return this.deps.store.finish(row.id, { status: controller.signal.aborted ? 'cancelled' : 'error', error: (error as Error).message });
      },
    ).catch((error: unknown) => this.deps.logger.error({ err: error, run: row.id }, 'could not record the load test outcome'))
      .finally(() => {
        if (this.active === active) this.active = undefined;
      });
    return row;
  }

  /** Live progress of the run in progress on this instance, if it is `id`. */
  progress(id: number): Progress | undefined {
    return this.active?.id === id ? this.active.progress : undefined;
  }

  /** Cancels a run of this instance and waits until it is recorded as cancelled. */
  async cancel(id: number): Promise<RunRow> {
    const row = await this.deps.store.get(id);
    if (!row) throw new NotFoundError(`load test ${id} not found`);
    if (row.status !== 'running') throw new ConflictError(`load test ${id} has already ended (${row.status})`);
    const active = this.active;
    if (active?.id !== id) throw new ConflictError(`load test ${id} runs on instance ${row.instanceId}; cancel it there`);
    active.controller.abort('cancelled through the API');
    await active.done;
    return (await this.deps.store.get(id)) as RunRow;
  }

  /** Stops a run in progress (instance shutdown) and waits until it is recorded. */
  async close(): Promise<void> {
    const active = this.active;
    if (!active) return;
    active.controller.abort('instance shutting down');
    await active.done;
  }
}

function statusOf(result: RunResult): 'passed' | 'failed' | 'cancelled' {
  return result.status === 'aborted' ? 'cancelled' : result.status;
}

export function summarize(result: RunResult): RunSummary {
  const duration = result.metrics.http_req_duration;
  const failed = result.metrics.http_req_failed;
  const ack = result.metrics.order_ack_latency;
  const latency = duration?.kind === 'trend' ? duration : latencyStats(undefined);
  return {
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    requests: latency.count,
    rps: latency.count / Math.max(result.durationMs / 1000, 1e-9),
    p95: latency.p95,
    p99: latency.p99,
    errorRate: failed?.kind === 'rate' ? failed.rate : 0,
    orderAckP99: ack?.kind === 'trend' ? ack.p99 : null,
    thresholds: result.thresholds.map((t) => ({ key: t.key, source: t.source, passed: t.passed, observed: t.observed })),
    ...(result.aborted ? { aborted: result.aborted } : {}),
  };
}
