/**
 * Load tests started through the admin API: one at a time per instance (a second start is a 409, so
 * two runs never share — and skew — one generator), run in the background, cancellable, recorded in
 * `load_test_runs`. Targets this instance unless told otherwise, within the configured guardrails.
 * Credentials never leave with the load: a target URL carrying `user:pass@` is refused before
 * anything is stored, and the starter's own token is never used. A run against this platform acts
 * with a token minted for it (the starter's role, expiring with the longest run allowed, revoked
 * when the run ends), because its setup creates the VU accounts; a run against any other target
 * gets no token at all.
 */
import type { Logger } from 'pino';
import { BadRequestError, ConflictError, NotFoundError } from '../../kernel/errors.ts';
import { isBuiltin, scenarioPath } from '../builtin.ts';
import type { Guardrails } from '../guardrails.ts';
import { latencyStats } from '../../kernel/histogram.ts';
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

/** Mints the short-lived token a run acts with on this platform, and revokes it when the run ends. */
export interface RunTokens {
  issue(userId: number, ttlMs: number): Promise<string>;
  revoke(token: string): Promise<void>;
}

export interface LoadTestServiceDeps {
  store: RunStore;
  guardrails: Partial<Guardrails>;
  instanceId: string;
  logger: Logger;
  tokens: RunTokens;
}

/** A run token outlives the longest run allowed by this much (setup, graceful stop, teardown). */
const RUN_TOKEN_MARGIN_MS = 5 * 60_000;
const DEFAULT_MAX_DURATION_MS = 30 * 60_000;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

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

  async start(request: StartRequest, caller: { userId: number }): Promise<RunRow> {
    if (!isBuiltin(request.scenario)) throw new NotFoundError(`unknown scenario "${request.scenario}"`);
    // Checked first, and the URL never echoed: a refused target must not reach the record or the answer.
    if (request.target !== undefined && hasCredentials(request.target)) {
      throw new BadRequestError('target must not carry credentials (user:password@); load tests authenticate with a token minted for the run');
    }
    if (this.active) throw new ConflictError(`load test ${this.active.id} is already running on this instance; cancel it or wait`);
    const target = request.target ?? this.defaultTarget;
    if (!target) throw new ConflictError('this instance is not listening yet; give a target');
    const { scenario, target: _target, ...options } = request;
    const controller = new AbortController();
    // Claim the slot before the first await, so two concurrent starts cannot both pass the check.
    const active: ActiveRun = { id: 0, controller, done: Promise.resolve(), progress: undefined };
    this.active = active;
    const path = scenarioPath(scenario);
    const env: Record<string, string> = {};
    const runOptions = { ...options, target, name: scenario, guardrails: this.deps.guardrails, signal: controller.signal, env };
    let row: RunRow;
    let runToken: string | undefined;
    try {
      // Guardrail and validation refusals are answered now (4xx), before a row, a token or any load exists.
      await checkRun(path, runOptions);
      if (this.isThisInstance(target)) {
        runToken = await this.deps.tokens.issue(caller.userId, (this.deps.guardrails.maxDurationMs ?? DEFAULT_MAX_DURATION_MS) + RUN_TOKEN_MARGIN_MS);
        env.TACHYON_ADMIN_TOKEN = runToken;
      }
      row = await this.deps.store.create({ instanceId: this.deps.instanceId, scenario, target, options, createdBy: caller.userId });
    } catch (error) {
      this.active = undefined;
      if (runToken) await this.revoke(runToken);
      throw error;
    }
    active.id = row.id;
    const run = runLoadTest(path, { ...runOptions, onProgress: (p) => (active.progress = p) }).finally(() => (runToken ? this.revoke(runToken) : undefined));
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

  /** Whether `target` is this instance's own address (loopback names are one host). */
  private isThisInstance(target: string): boolean {
    if (!this.defaultTarget) return false;
    const own = new URL(this.defaultTarget);
    const url = new URL(target);
    const host = (u: URL) => (LOOPBACK.has(u.hostname) ? 'loopback' : u.hostname);
    return url.protocol === own.protocol && url.port === own.port && host(url) === host(own);
  }

  private async revoke(token: string): Promise<void> {
    await this.deps.tokens.revoke(token).catch((error: unknown) => this.deps.logger.error({ err: error }, 'could not revoke a load test run token; it expires on its own'));
  }

  /** The run in progress on this instance, if any, with its live progress. */
  current(): { id: number; progress: Progress | undefined } | undefined {
    // id 0: claimed, not yet recorded.
    return this.active && this.active.id !== 0 ? { id: this.active.id, progress: this.active.progress } : undefined;
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

function hasCredentials(target: string): boolean {
  try {
    const url = new URL(target);
    return url.username !== '' || url.password !== '';
  } catch {
    return false; // not a URL: the guardrails refuse it
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
