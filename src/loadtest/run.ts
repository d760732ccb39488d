/**
 * runLoadTest: the programmatic entry the CLI (`tachyon loadtest`) and the admin API call.
 * Resolves the executor (scenario options + overrides), enforces guardrails, runs setup, the shards
 * (in-process or in worker threads), live progress and abort-on-fail thresholds, then teardown, and
 * returns a RunResult.
 */
import { setMaxListeners } from 'node:events';
import { BadRequestError } from '../kernel/errors.ts';
import { parseDuration } from './duration.ts';
import { DEFAULT_GUARDRAILS, GuardrailError, assertHostAllowed, assertWithin } from './guardrails.ts';
import type { Guardrails } from './guardrails.ts';
import { HttpTransport, createHttpClient } from './http-client.ts';
import { summarizeIntervals } from './intervals.ts';
import type { IntervalSpec } from './intervals.ts';
import { importScenario, scenarioUrl, validateScenario } from './load-scenario.ts';
import { MetricsRegistry, epochNowMs } from './metrics.ts';
import { planOf } from './plan.ts';
import type { Plan } from './plan.ts';
import { progressOf } from './progress.ts';
import type { Progress } from './progress.ts';
import { endpointSummaries, metricSummaries, timeline } from './results.ts';
import type { RunResult } from './results.ts';
import type { ExecutorConfig, Scenario, SetupContext, ThresholdInput } from './scenario.ts';
import { executeShard } from './shard.ts';
import type { ShardParams } from './shard.ts';
import { evaluateThreshold, evaluateThresholds, parseThresholds } from './thresholds.ts';
import type { Threshold } from './thresholds.ts';
import { runInWorkers } from './worker/pool.ts';
import { agentScenarioReference, runOnAgents } from './distributed/coordinator.ts';
import type { AgentTargets, DistributedRun } from './distributed/coordinator.ts';
import { spawnLocalAgents } from './distributed/local-agents.ts';

export interface RunOptions {
  /** Base URL of the system under test; relative request paths resolve against it. */
  target: string;
  /** Overrides the duration of a constant executor. */
  duration?: string | number;
  /** Runs a constant-arrival-rate at this many iterations/s instead of the scenario's executor. */
  rate?: number;
  /** Closed model: runs constant-vus with this many VUs; open model: the VU cap. */
  vus?: number;
  /** Overrides the scenario's gracefulStop: how long in-flight iterations may finish after the schedule ends. */
  gracefulStop?: string | number;
  /** Merged over the scenario's thresholds (same key replaces). */
  thresholds?: ThresholdInput;
  tags?: Record<string, string>;
  /** Worker threads generating load (default 1 = in-process). Needs a module scenario when > 1. With `agents: N`, threads per agent. */
  workers?: number;
  /**
   * Distributed run (distributed/): N local agent processes spawned for this run, or running agents
   * (`tachyon loadtest agent`) by URL with their shared token. Needs a module scenario.
   */
  agents?: number | AgentTargets;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  guardrails?: Partial<Guardrails>;
  /** Name recorded in the result (default: the module path or "scenario"). */
  name?: string;
  /** Parameters for setup/teardown (SetupContext.env), e.g. the admin token that creates VU accounts. */
  env?: Record<string, string | undefined>;
  /** Called once the load starts, with its start on the epochNowMs() clock (second 0 of the timeline). */
  onStart?: (startMs: number) => void;
  /** Spans of the run judged on their own thresholds (intervals.ts), asked for when the run ends. */
  intervals?: () => IntervalSpec[];
}

/** A scenario object, or a module path/URL exporting one (required for worker threads). */
export type ScenarioSource<D = unknown> = Scenario<D> | string | URL;

interface Prepared {
  url: string | undefined;
  scenario: Scenario;
  guardrails: Guardrails;
  workers: number;
  executor: ExecutorConfig;
  plan: Plan;
  target: URL;
  thresholds: Threshold[];
}

/** Everything that can refuse a run before it sends anything: scenario, overrides, target, guardrails, thresholds. */
async function prepare<D>(source: ScenarioSource<D>, options: RunOptions): Promise<Prepared> {
  const url = typeof source === 'string' || source instanceof URL ? scenarioUrl(source) : undefined;
  const scenario = url ? await importScenario(url) : validateScenario(source);
  const guardrails: Guardrails = { ...DEFAULT_GUARDRAILS, ...options.guardrails };
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new BadRequestError('workers must be a positive integer');
  if (workers > 1 && !url) throw new BadRequestError('worker threads import the scenario: pass it as a module path, not an object');
  if (options.agents !== undefined && !url) throw new BadRequestError('agents import the scenario: pass it as a module path, not an object');
  if (typeof options.agents === 'number' && (!Number.isInteger(options.agents) || options.agents < 1)) throw new BadRequestError('agents must be a positive integer');

  const executor = resolveExecutor(scenario.options.executor, options);
  const plan = planOf(executor);
  let target: URL;
  try {
    target = new URL(options.target);
  } catch {
    throw new BadRequestError(`target must be an absolute URL, got "${options.target}"`);
  }
  enforceGuardrails(guardrails, target, plan, typeof options.agents === 'number' ? options.agents * workers : options.agents ? 1 : workers);
  const thresholds = parseThresholds({ ...scenario.options.thresholds, ...options.thresholds });
  return { url, scenario, guardrails, workers, executor, plan, target, thresholds };
}

/** Throws what runLoadTest would throw before starting (4xx errors), without running: for callers that answer before the run ends. */
export async function checkRun<D>(source: ScenarioSource<D>, options: RunOptions): Promise<void> {
  await prepare(source, options);
}

export async function runLoadTest<D>(source: ScenarioSource<D>, options: RunOptions): Promise<RunResult> {
  const { url, scenario, guardrails, workers, executor, plan, target, thresholds } = await prepare(source, options);
  const gracefulStopMs = parseDuration(options.gracefulStop ?? scenario.options.gracefulStop ?? '10s');
  const baseTags = { ...scenario.options.tags, ...options.tags };

  const stop = new AbortController();
  // Setup's concurrent requests each listen on it (as in shard.ts): many listeners are by design.
  setMaxListeners(0, stop.signal);
  let aborted: RunResult['aborted'];
  const onSignal = (): void => {
    aborted ??= { reason: 'signal', detail: String(options.signal?.reason ?? 'aborted') };
    stop.abort();
  };
  if (options.signal?.aborted) onSignal();
  options.signal?.addEventListener('abort', onSignal, { once: true });

  const setupCtx = setupContext(target, guardrails, stop.signal, plan.maxVUs, options.env ?? {});
  let localAgents: { close(): Promise<void> } | undefined;
  try {
    const data = scenario.setup && !stop.signal.aborted ? await scenario.setup(setupCtx.ctx) : undefined;
    const params: Omit<ShardParams, 'startMs' | 'shard'> = { plan, target: target.href, guardrails, baseTags, data, shards: workers, gracefulStopMs, connections: scenario.options.connections };

    let registry: MetricsRegistry;
    let finished: Promise<Array<[string, number]>>;
    let distributed: DistributedRun | undefined;
    let distributedEndMs: number | undefined;
    if (options.agents !== undefined) {
      const agents = typeof options.agents === 'number' ? (localAgents = await spawnLocalAgents(options.agents, { guardrails, threads: workers })) : options.agents;
      distributed = await runOnAgents({
        scenario: agentScenarioReference(url as string), executor, target: target.href, baseTags, data, gracefulStopMs,
        ...(scenario.options.connections !== undefined ? { connections: scenario.options.connections } : {}),
      }, agents, stop.signal);
      registry = distributed.registry;
      finished = distributed.finished.then(({ errors, endMs }) => {
        distributedEndMs = endMs;
        return errors;
      });
    } else if (workers === 1) {
      registry = new MetricsRegistry(epochNowMs());
      finished = executeShard(scenario, { ...params, startMs: registry.startMs, shard: 0 }, registry, stop.signal);
    } else {
      let created: MetricsRegistry | undefined;
      const run = runInWorkers(url as string, params, (startMs) => (created = new MetricsRegistry(startMs)), stop.signal);
      await run.started;
      registry = created as MetricsRegistry;
      finished = run.finished;
    }
    const startMs = registry.startMs;
    options.onStart?.(startMs);

    // Once a second: progress and abort-on-fail thresholds over complete seconds (workers report a second late).
    const live = thresholds.filter((t) => t.abortOnFail);
    const tick = setInterval(() => {
      const elapsed = epochNowMs() - startMs;
      // Threads report a second late; agents are polled once a second over the network, so up to two.
      const lastComplete = registry.secondOf(epochNowMs()) - (distributed ? 3 : workers === 1 ? 1 : 2);
      let failing = 0;
      for (const t of live) {
        if (elapsed < t.delayAbortEvalMs || lastComplete < 0) continue;
        const r = evaluateThreshold(t, registry, { runSeconds: (lastComplete + 1), lastCompleteSecond: lastComplete, latestWindowOnly: true });
        if (!r.passed) {
          failing++;
          aborted ??= { reason: 'threshold', detail: `${t.key}: ${t.source} (observed ${r.observed?.toFixed(3)})` };
          stop.abort();
        }
      }
      options.onProgress?.(progressOf(registry, elapsed, plan.durationMs, lastComplete, failing));
    }, 1000);
    let errors: Array<[string, number]>;
    try {
      errors = await finished;
    } finally {
      clearInterval(tick);
    }
    // Agents are polled once a second: their own end instant, not when the last poll saw it.
    const endMs = distributedEndMs ?? epochNowMs();
    const runSeconds = (endMs - startMs) / 1000;
    options.onProgress?.(progressOf(registry, endMs - startMs, plan.durationMs, registry.lastSecond(), 0));
    if (scenario.teardown) await scenario.teardown(setupCtx.ctx, data);

    const thresholdResults = evaluateThresholds(thresholds, registry, { runSeconds });
    const intervals = options.intervals && summarizeIntervals(options.intervals(), registry);
    const failed = thresholdResults.some((r) => !r.passed) || (intervals?.some((i) => !i.passed) ?? false);
    const status: RunResult['status'] = aborted?.reason === 'signal' ? 'aborted' : failed || aborted ? 'failed' : 'passed';
    return {
      version: 1,
      scenario: options.name ?? url ?? 'scenario',
      target: target.href,
      executor,
      model: plan.model,
      workers: distributed?.shards ?? workers,
      ...(distributed ? { agents: distributed.agents.map(({ url: agentUrl, segment, threads }) => ({ url: agentUrl, segment, threads })) } : {}),
      startedAt: new Date(startMs).toISOString(),
      endedAt: new Date(endMs).toISOString(),
      durationMs: endMs - startMs,
      status,
      ...(aborted ? { aborted } : {}),
      exitCode: status === 'passed' ? 0 : status === 'aborted' ? 105 : 99,
      ...metricSummaries({ registry, runSeconds }),
      endpoints: endpointSummaries({ registry, runSeconds }),
      timeline: timeline(registry),
      thresholds: thresholdResults,
      ...(intervals ? { intervals } : {}),
      errors: mergeErrors(errors),
    };
  } finally {
    options.signal?.removeEventListener('abort', onSignal);
    await localAgents?.close();
    await setupCtx.close();
  }
}

/** Applies CLI/API overrides to the scenario's executor. */
export function resolveExecutor(base: ExecutorConfig, o: Pick<RunOptions, 'duration' | 'rate' | 'vus'>): ExecutorConfig {
  const staged = base.type === 'ramping-arrival-rate' || base.type === 'ramping-vus';
  if (o.duration !== undefined && staged && o.rate === undefined && o.vus === undefined) {
    // The ramp keeps its shape: every stage is scaled so that together they last `duration`.
    const total = base.stages.reduce((sum, stage) => sum + parseDuration(stage.duration), 0);
    if (total <= 0) throw new BadRequestError(`the ${base.type} executor has no stages to scale`);
    const factor = parseDuration(o.duration) / total;
    return { ...base, stages: base.stages.map((stage) => ({ ...stage, duration: Math.max(1, Math.round(parseDuration(stage.duration) * factor)) })) };
  }
  const duration = o.duration ?? ('duration' in base ? base.duration : undefined);
  if (o.rate !== undefined) {
    if (duration === undefined) throw new BadRequestError('a rate override needs a duration');
    const maxVUs = o.vus ?? (base.type === 'constant-arrival-rate' || base.type === 'ramping-arrival-rate' ? base.maxVUs : undefined);
    return { type: 'constant-arrival-rate', rate: o.rate, duration, ...(maxVUs !== undefined ? { maxVUs } : {}) };
  }
  if (o.vus !== undefined) {
    if (base.type === 'constant-arrival-rate' || base.type === 'ramping-arrival-rate') return { ...base, maxVUs: o.vus };
    if (duration === undefined) throw new BadRequestError('a vus override on a ramping-vus scenario needs a duration');
    return { type: 'constant-vus', vus: o.vus, duration, ...(base.thinkTime !== undefined ? { thinkTime: base.thinkTime } : {}) };
  }
  if (o.duration !== undefined) return { ...base, duration: o.duration } as ExecutorConfig;
  return base;
}

export function enforceGuardrails(g: Guardrails, target: URL, plan: Plan, workers: number): void {
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new GuardrailError(`target must be http(s), got ${target.protocol}`);
  assertHostAllowed(g, target);
  assertWithin('duration_ms', plan.durationMs, g.maxDurationMs);
  if (plan.model === 'open') assertWithin('rate', Math.round(plan.peakRatePerSec * 1000) / 1000, g.maxRate);
  assertWithin('vus', plan.maxVUs, g.maxVUs);
  assertWithin('workers', workers, g.maxWorkers);
}

function setupContext(target: URL, guardrails: Guardrails, signal: AbortSignal, vus: number, env: SetupContext['env']): { ctx: SetupContext; close: () => Promise<void> } {
  // Setup/teardown traffic goes to a throwaway registry: it is not part of the measured load.
  const transport = new HttpTransport(4);
  const http = createHttpClient({ transport, metrics: new MetricsRegistry(epochNowMs()), base: target, guardrails, baseTags: {}, lag: { lagMs: 0 }, signal });
  return { ctx: { target: target.href, http, vus, env }, close: () => transport.close() };
}

function mergeErrors(entries: Array<[string, number]>): RunResult['errors'] {
  const counts = new Map<string, number>();
  for (const [message, n] of entries) counts.set(message, (counts.get(message) ?? 0) + n);
  return [...counts].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
}
