/**
 * The scenario contract. A scenario is a plain TS module (or an equivalent object):
 *
 *   export const options: ScenarioOptions = {
 *     executor: { type: 'constant-arrival-rate', rate: 200, duration: '30s', maxVUs: 100 },
 *     thresholds: { http_req_duration: ['p(95)<200'], 'http_req_duration{endpoint:quotes}': ['p(99)<50 over any 10s'] },
 *   };
 *   export default async function (ctx: IterationContext) { await ctx.http.get('/quotes/AAPL', { tags: { endpoint: 'quotes' } }); }
 *
 * Module form is required for worker threads (each thread imports it); the object form suits the
 * in-process run and tests. YAML files compile to the trading mix (see trading/yaml.ts).
 */
import type { HttpClient } from './http-client.ts';
import type { Tags } from './metrics.ts';
import type { WsConnector } from './ws-session.ts';

export interface Stage {
  duration: string | number;
  target: number;
}

export type ExecutorConfig =
  | { type: 'constant-arrival-rate'; rate: number; timeUnit?: string | number; duration: string | number; preAllocatedVUs?: number; maxVUs?: number }
  | { type: 'ramping-arrival-rate'; startRate?: number; timeUnit?: string | number; stages: Stage[]; preAllocatedVUs?: number; maxVUs?: number }
  | { type: 'constant-vus'; vus: number; duration: string | number; thinkTime?: ThinkTime }
  | { type: 'ramping-vus'; startVUs?: number; stages: Stage[]; thinkTime?: ThinkTime };

/** Pause between a closed-model VU's iterations: fixed ms/duration, or uniform in [min, max]. */
export type ThinkTime = string | number | { min: string | number; max: string | number };

export interface ThresholdSpec {
  threshold: string;
  abortOnFail?: boolean;
  /** Do not abort before this much of the run has elapsed (k6's delayAbortEval). */
  delayAbortEval?: string | number;
}
export type ThresholdInput = Record<string, Array<string | ThresholdSpec>>;

export interface ScenarioOptions {
  executor: ExecutorConfig;
  thresholds?: ThresholdInput;
  /** Tags added to every sample of the run. */
  tags?: Record<string, string>;
  /** Time allowed for in-flight iterations after the schedule ends (default 10s), then they are abandoned. */
  gracefulStop?: string | number;
  /** Connections per origin for the HTTP pool (default: one per VU, like k6). */
  connections?: number;
}

export interface Vu {
  /** 1-based, unique across worker threads. */
  readonly id: number;
  /** Iterations this VU has started. */
  iteration: number;
  /** Free-form per-VU state (session tokens, account ids…) that survives between iterations. */
  readonly state: Record<string, unknown>;
}

export interface TrendHandle {
  add(ms: number, tags?: Tags): void;
}
export interface CounterHandle {
  add(n?: number, tags?: Tags): void;
}
export interface RateHandle {
  add(ok: boolean, tags?: Tags): void;
}
export interface CustomMetrics {
  trend(name: string): TrendHandle;
  counter(name: string): CounterHandle;
  rate(name: string): RateHandle;
}

export type Check<T> = Record<string, (value: T) => boolean>;

export interface IterationContext<SetupData = unknown> {
  readonly vu: Vu;
  /** Base URL of the system under test (relative request paths resolve against it). */
  readonly target: string;
  readonly http: HttpClient;
  readonly ws: WsConnector;
  readonly metrics: CustomMetrics;
  /** Records each named check into the `checks` rate metric (tag `check`); true when all pass. */
  check<T>(value: T, checks: Check<T>, tags?: Tags): boolean;
  /** What setup() returned (structured-cloned into worker threads). */
  readonly data: SetupData;
  /** When this iteration was due (epoch ms); in the open model latency is measured from here. */
  readonly dueAt: number;
  readonly signal: AbortSignal;
  sleep(ms: number): Promise<void>;
}

export interface SetupContext {
  readonly target: string;
  readonly http: HttpClient;
  /** The most VUs the run can have (VU ids are 1…vus): setup can prepare one account per VU. */
  readonly vus: number;
  /** Run parameters from the caller (k6's __ENV): the CLI passes its environment, the admin API the caller's token. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Scenario<SetupData = unknown> {
  options: ScenarioOptions;
  default: (ctx: IterationContext<SetupData>) => Promise<void> | void;
  setup?: (ctx: SetupContext) => Promise<SetupData> | SetupData;
  /**
   * Runs once per VU after the schedule ends (skipped after a cancel or an abandoned graceful stop),
   * with the VU's state: where per-user correctness is verified (every order it had acknowledged
   * still exists, its cash and positions reconcile). Its requests are not part of the measured load;
   * its checks and custom metrics are, so thresholds can judge them.
   */
  vuTeardown?: (ctx: IterationContext<SetupData>) => Promise<void> | void;
  teardown?: (ctx: SetupContext, data: SetupData) => Promise<void> | void;
}

/** Identity helper for the object form, giving type inference to scenario authors. */
export function defineScenario<D>(scenario: Scenario<D>): Scenario<D> {
  return scenario;
}

export function isOpenModel(executor: ExecutorConfig): boolean {
  return executor.type === 'constant-arrival-rate' || executor.type === 'ramping-arrival-rate';
}
