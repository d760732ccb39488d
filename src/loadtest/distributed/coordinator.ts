/**
 * The coordinator's side of a distributed run: asks each agent how many threads it has, cuts the run
 * into execution segments, has every agent load the scenario, starts them all at one instant (on
 * each agent's own clock, from an NTP-style offset estimate), polls their metric deltas once a
 * second and merges them into one registry — HDR histograms added bucket by bucket, counters and
 * rates summed — so thresholds, the report and baselines see exactly what one process would record.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { BadRequestError } from '../../kernel/errors.ts';
import { MetricsRegistry, epochNowMs } from '../metrics.ts';
import type { ExecutorConfig } from '../scenario.ts';
import { BUILTIN_SCENARIOS, scenarioPath } from '../builtin.ts';
import { scenarioUrl } from '../load-scenario.ts';
import { AGENT_PROTOCOL_VERSION, BUILTIN_PREFIX } from './protocol.ts';
import type { AgentInfo, MetricsResponse, PrepareRequest } from './protocol.ts';
import { assignSegments } from './segments.ts';

export interface AgentTargets {
  /** Base URLs of running agents (`tachyon loadtest agent`). */
  urls: string[];
  /** The shared token the agents were started with. */
  token: string;
  /** How long to wait for an agent that does not answer yet (agents starting beside the coordinator); default 0. */
  waitMs?: number;
}

/** An agent that cannot be reached (refused, unknown host, timed out): worth retrying while agents start. */
class AgentUnreachableError extends BadRequestError {}

export interface DistributedRequest {
  /** What each agent imports: `builtin:<name>` or a module URL valid on the agent's machine. */
  scenario: string;
  executor: ExecutorConfig;
  target: string;
  baseTags: Record<string, string>;
  data: unknown;
  gracefulStopMs: number;
  connections?: number;
}

export interface DistributedRun {
  /** The shared start on this machine's clock; bucket 0 of `registry` begins there. */
  registry: MetricsRegistry;
  shards: number;
  agents: Array<{ url: string; segment: string; threads: number; clockOffsetMs: number }>;
  /** Every agent's errors once all are done, and when the last one finished (this machine's clock). */
  finished: Promise<{ errors: Array<[string, number]>; endMs: number }>;
}

const POLL_MS = 1000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Preparing starts threads that load the scenario (a .ts one through tsx): seconds on a busy machine. */
const PREPARE_TIMEOUT_MS = 120_000;
/** Consecutive failed polls before an agent counts as lost. */
const MAX_POLL_FAILURES = 5;
const CLOCK_SAMPLES = 3;

interface Connected {
  url: string;
  info: AgentInfo;
  /** Agent clock minus this clock, ms. */
  offsetMs: number;
  rttMs: number;
}

export async function runOnAgents(request: DistributedRequest, targets: AgentTargets, stop: AbortSignal): Promise<DistributedRun> {
  if (targets.urls.length === 0) throw new BadRequestError('no agents given');
  const call = caller(targets.token, stop);
  const connectBy = epochNowMs() + (targets.waitMs ?? 0);
  const connected = await Promise.all(targets.urls.map((url) => connect(url, call, connectBy, stop)));
  const { shards, segments } = assignSegments(connected.map((a) => a.info.workers));
  const runId = randomBytes(9).toString('base64url');

  const prepared: Connected[] = [];
  try {
    await Promise.all(connected.map(async (agent, i) => {
      const body: PrepareRequest = {
        runId,
        scenario: request.scenario,
        executor: request.executor as unknown as PrepareRequest['executor'],
        target: request.target,
        baseTags: request.baseTags,
        data: request.data,
        shards,
        shardIds: segments[i]!.shardIds,
        gracefulStopMs: request.gracefulStopMs,
        ...(request.connections !== undefined ? { connections: request.connections } : {}),
      };
      await call(agent.url, 'POST', '/runs', body, false, PREPARE_TIMEOUT_MS);
      prepared.push(agent);
    }));
  } catch (error) {
    await Promise.allSettled(prepared.map((agent) => call(agent.url, 'DELETE', `/runs/${runId}`)));
    throw error;
  }

  // Far enough ahead that every start message arrives before the instant it names.
  const marginMs = Math.max(200, 3 * Math.max(...connected.map((a) => a.rttMs)));
  const startMs = epochNowMs() + marginMs;
  const registry = new MetricsRegistry(startMs);
  await Promise.all(connected.map((agent) => call(agent.url, 'POST', `/runs/${runId}/start`, { startMs: startMs + agent.offsetMs })));

  const finished = collect(connected, runId, registry, call, stop);
  return {
    registry,
    shards,
    agents: connected.map((a, i) => ({ url: a.url, segment: segments[i]!.segment, threads: a.info.workers, clockOffsetMs: Math.round(a.offsetMs) })),
    finished,
  };
}

/** Polls every agent until all are done, merging each delta; stops them all on a stop signal or when one fails. */
async function collect(agents: Connected[], runId: string, registry: MetricsRegistry, call: Caller, stop: AbortSignal): Promise<{ errors: Array<[string, number]>; endMs: number }> {
  const pending = new Map(agents.map((a) => [a.url, { agent: a, failures: 0 }]));
  const errors: Array<[string, number]> = [];
  let endMs = 0;
  let stopSent = false;
  const stopAll = async (): Promise<void> => {
    if (stopSent) return;
    stopSent = true;
    await Promise.allSettled([...pending.values()].map(({ agent }) => call(agent.url, 'POST', `/runs/${runId}/stop`, undefined, true)));
  };
  try {
    while (pending.size > 0) {
      await delay(POLL_MS);
      if (stop.aborted) await stopAll();
      await Promise.all([...pending.values()].map(async (entry) => {
        const { agent } = entry;
        let response: MetricsResponse;
        try {
          response = (await call(agent.url, 'GET', `/runs/${runId}/metrics`, undefined, true)) as MetricsResponse;
          entry.failures = 0;
        } catch (error) {
          if (++entry.failures >= MAX_POLL_FAILURES) throw new Error(`agent ${agent.url} lost: ${(error as Error).message}`);
          return;
        }
        registry.merge(response.snapshot);
        if (response.state === 'failed') throw new Error(`agent ${agent.url} failed: ${response.message ?? 'no reason given'}`);
        if (response.state === 'done') {
          errors.push(...(response.errors ?? []));
          endMs = Math.max(endMs, (response.endedMs ?? agent.offsetMs + epochNowMs()) - agent.offsetMs);
          pending.delete(agent.url);
          await call(agent.url, 'DELETE', `/runs/${runId}`, undefined, true).catch(() => undefined);
        }
      }));
    }
    return { errors, endMs };
  } catch (error) {
    await stopAll();
    await Promise.allSettled([...pending.values()].map(({ agent }) => call(agent.url, 'DELETE', `/runs/${runId}`, undefined, true)));
    throw error;
  }
}

/** The agent's info and its clock offset, from the round trip with the smallest delay (as NTP does). */
async function connect(url: string, call: Caller, connectBy: number, stop: AbortSignal): Promise<Connected> {
  let best: Connected | undefined;
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sent = epochNowMs();
    let info: AgentInfo;
    try {
      info = (await call(url, 'GET', '/agent')) as AgentInfo;
    } catch (error) {
      if (!(error instanceof AgentUnreachableError) || epochNowMs() >= connectBy || stop.aborted) throw error;
      await delay(1000);
      i--;
      continue;
    }
    const received = epochNowMs();
    if (info.protocol !== AGENT_PROTOCOL_VERSION) throw new BadRequestError(`agent ${url} speaks protocol ${info.protocol}, this coordinator ${AGENT_PROTOCOL_VERSION}: run the same Tachyon version on both`);
    if (info.run) throw new BadRequestError(`agent ${url} is busy with run "${info.run}"`);
    const rttMs = received - sent;
    if (!best || rttMs < best.rttMs) best = { url, info, rttMs, offsetMs: info.nowMs - (sent + received) / 2 };
  }
  return best as Connected;
}

type Caller = (base: string, method: string, path: string, body?: unknown, ignoreStop?: boolean, timeoutMs?: number) => Promise<unknown>;

/** One JSON call to an agent; an agent's refusal (4xx) is the caller's to fix and says which agent and why. */
function caller(token: string, stop: AbortSignal): Caller {
  return async (base, method, path, body, ignoreStop = false, timeoutMs = REQUEST_TIMEOUT_MS) => {
    const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
    url.pathname = path;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: ignoreStop ? timeout : AbortSignal.any([timeout, stop]),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AgentUnreachableError(`cannot reach the agent at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
      } catch {
        // not problem+json: keep the text
      }
      if (res.status === 401) throw new BadRequestError(`agent ${base} refused the token: start it and the coordinator with the same TACHYON_AGENT_TOKEN`);
      const message = `agent ${base}: ${detail} (${res.status})`;
      throw res.status < 500 ? new BadRequestError(message) : new Error(message);
    }
    return text ? JSON.parse(text) : undefined;
  };
}

/** A built-in scenario travels by name (each agent loads its own copy); any other module by URL. */
export function agentScenarioReference(url: string): string {
  const builtin = BUILTIN_SCENARIOS.find((name) => scenarioUrl(scenarioPath(name)) === url);
  return builtin ? `${BUILTIN_PREFIX}${builtin}` : url;
}
