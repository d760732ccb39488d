/**
 * Attribution: what each optimization buys. The trading-day mix (src/loadtest/trading) driven by the
 * platform's own load generator (open model, latency timed from each arrival's due time, so it is
 * corrected for coordinated omission) against one platform whose flags are switched through the admin
 * API between runs: every optimization on, every optimization off, and (optionally) each optimization
 * off alone (the rest on). Instrumentation flags (metrics, traces, logs: features that cost, not
 * optimizations) stay at their defaults in every configuration, so "all off" is the same product
 * without its optimizations rather than one without its observability.
 *
 * Two figures per configuration and round:
 *  - at an equal rate (half of all on's scouted maximum): p95, server CPU per request, memory;
 *  - at saturation: the highest arrival rate whose p95 stays under one target (with no more than 1%
 *    of arrivals dropped or answered 5xx), found by a bounded search (step up or down from the last
 *    round's answer until a pass sits below a confirmed miss, then bisect), with its throughput, CPU per
 *    request and memory. The target is fixed, or calibrated once per run from all on's p95 at a low rate.
 * Rounds interleave the configurations (each round starting further along their list) so drift on a
 * shared machine hits all of them alike; verdicts rank the rounds (bench/support/regression.ts).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoadTest } from '../../src/loadtest/run.ts';
import type { RunResult } from '../../src/loadtest/results.ts';
import type { Scenario } from '../../src/loadtest/scenario.ts';
import type { TradingData } from '../../src/loadtest/trading/accounts.ts';
import { tradingScenario, type Weights } from '../../src/loadtest/trading/index.ts';
import { compareRounds, median, MIN_ROUNDS, type Verdict } from './regression.ts';

/** The mix: trading-day weights without the analysis calls that need seeded history (bench:backtest measures those). */
export const ATTRIBUTION_WEIGHTS: Weights = { backtest: 0, prediction: 0, history: 0 };

/** A probe fails when more than this share of its arrivals were dropped (every VU busy) or of its requests erred. */
export const MAX_LOST_SHARE = 0.01;

export interface SearchSettings {
  /** Factor between probes while bracketing (default 1.25). */
  step?: number;
  /** Bisection stops once the lowest failing rate ÷ the highest passing one is at most this (default 1.12). */
  precision?: number;
  /** Probes per search at most (default 8): a search that runs out reports its best pass as a lower bound. */
  maxProbes?: number;
}

export interface AttributionOptions extends SearchSettings {
  target: string;
  adminToken: string;
  /** Operations per second of the calibration runs (a warm-up, then three); the scouting search starts at twice this. */
  startRate: number;
  /** Seconds per probe. */
  seconds: number;
  rounds: number;
  /** VU cap of the open model (and connections): arrivals finding every VU busy are dropped. */
  vus: number;
  /** Each optimization off alone as well (a row per flag); false: all on against all off only (the quick profile). */
  perFlag: boolean;
  /** p95 target in ms; unset: p95Factor × all on's p95 at startRate, measured once at the start. */
  p95TargetMs?: number;
  /** Default 4. */
  p95Factor?: number;
  /** The equal rate of the at-rate figures as a share of all on's scouted maximum (default 0.5). */
  equalRateShare?: number;
  /** Share of VUs holding a WebSocket session (the mix's default: every one). */
  websocket?: number;
  /** Seconds of no load before each round to measure the idle process's CPU (default 2; 0: none subtracted). */
  idleSeconds?: number;
  /** Server CPU seconds so far, and resident memory in bytes (of the process under test). */
  cpuSeconds: () => number;
  rssBytes: () => number;
  /** Every probe, with what it was for (progress). */
  onProbe?: (stage: ProbeStage, probe: Probe) => void;
  /** A configuration's figures of one round. */
  onRound?: (round: number, config: string, atRate: ConfigRun, saturation: SaturationRun) => void;
}

export interface ProbeStage {
  purpose: 'calibrate' | 'scout' | 'equal rate' | 'search';
  config: string;
  /** Undefined before the rounds (calibration, scouting). */
  round?: number;
}

export type FlagVerdict = 'gain' | 'no measurable gain' | 'costs more than it saves' | 'too few rounds' | 'a round found no passing rate' | 'not measured' | 'instrumentation';

export interface ConfigRun {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Share of requests answered 4xx or 5xx or not at all (4xx includes the mix's expected order rejections and late cancels). */
  failedRate: number;
  /**
   * Share of requests answered 5xx: what fails a probe. Not "no answer" (status 0): with no rate limit or
   * shedding, those are the requests of iterations abandoned at the end of a probe (a market order still
   * polling for its fill), an artefact of cutting the load, not an error of the server.
   */
  errorRate: number;
  /** Share of scheduled arrivals dropped because every VU was busy. */
  droppedRate: number;
  /** Server CPU per request net of the idle process's (see idleCpuMsPerSecond), and gross. */
  cpuMsPerRequest: number;
  grossCpuMsPerRequest: number;
  rssMiB: number;
}

export interface Probe extends ConfigRun {
  /** Offered operations per second. */
  rate: number;
  passed: boolean;
  /** Why it failed (empty when it passed). */
  why: string;
}

/** A search's answer: the figures of its highest passing probe. */
export interface SaturationRun extends ConfigRun {
  /** Highest passing rate (operations/s), 0 when none passed. */
  rate: number;
  /** Lowest failing rate, null when none failed (then `rate` is a lower bound: the search ran out of probes). */
  failedAt: number | null;
  probes: number;
}

export interface FlagAttribution {
  flag: string;
  description: string;
  kind: 'optimization' | 'instrumentation';
  /** Medians over rounds: all on against this flag off alone. Throughput at equal p95 (requests/s served at the highest passing rate). */
  maxRequestsPerSecond: { on: number; off: number };
  /** Throughput at equal p95 with this flag off ÷ all on (below 1: the flag buys throughput). */
  throughputVsAllOn: number;
  /** Server CPU per request at saturation. */
  cpuMsPerRequest: { on: number; off: number };
  /** p95 at the equal rate. */
  p95Ms: { on: number; off: number };
  /** p95 at the equal rate: this one off ÷ all on. */
  latencyGain: number;
  /** Resident memory at saturation. */
  rssMiB: { on: number; off: number };
  /**
   * Whether switching it off measurably costs throughput at equal p95 (the rank test over rounds); too
   * few rounds to say; not measured (a run without each flag alone); or an instrumentation flag (held at
   * its default, not attributed).
   */
  verdict: FlagVerdict;
  detail: string;
}

export interface AttributionResult {
  flags: FlagAttribution[];
  /** Per configuration, one run per round at the equal rate. */
  configs: Record<string, ConfigRun[]>;
  /** Per configuration, one search answer per round. */
  saturation: Record<string, SaturationRun[]>;
  p95TargetMs: number;
  /** How the target was set. */
  p95TargetSource: string;
  /** All on's highest passing rate from the scouting search, and the equal rate derived from it (operations/s). */
  scoutedRate: number;
  equalRate: number;
  probes: number;
  /** Per round: server CPU with no load (feed, timers), subtracted from every run's CPU before dividing by its requests. */
  idleCpuMsPerSecond: number[];
  allOnOverAllOff: {
    /** Throughput at equal p95: all on ÷ all off (medians), and per round. */
    throughput: number;
    roundRatios: number[];
    maxRequestsPerSecond: { on: number; off: number };
    /** CPU per request at saturation: all off ÷ all on. */
    capacity: number;
    cpuMsPerRequest: { on: number; off: number };
    /** p95 at the equal rate: all off ÷ all on. */
    p95: number;
    p95Ms: { on: number; off: number };
    /** The rank test of all off against all on (throughput at equal p95), as for a flag. */
    verdict: FlagVerdict;
    detail: string;
  };
}

export const ALL_ON = 'all on';
export const ALL_OFF = 'all off';
const offAlone = (flag: string) => `${flag} off`;

interface FlagInfo {
  name: string;
  description: string;
  default: boolean;
  kind: 'optimization' | 'instrumentation';
}

async function admin(options: AttributionOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${options.target}${path}`, {
    method,
    headers: { authorization: `Bearer ${options.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Optimizations on unless `off` says so; instrumentation at its default. Only flags whose state changes
 * are switched (`current`: what was last set), since each switch is an audited database write.
 */
async function setFlags(options: AttributionOptions, flags: readonly FlagInfo[], off: (name: string) => boolean, current: Map<string, boolean>): Promise<void> {
  for (const f of flags) {
    const enabled = f.kind === 'instrumentation' ? f.default : !off(f.name);
    if (current.get(f.name) === enabled) continue;
    await admin(options, 'PUT', `/api/admin/flags/${encodeURIComponent(f.name)}`, { enabled, reason: 'bench:attribution' });
    current.set(f.name, enabled);
  }
}

const STATUS_TAG = /[{,]status:(\d+)[,}]/;

/** Requests answered 5xx, from the per-status series of http_reqs. */
function serverErrors(result: RunResult): number {
  let errors = 0;
  for (const [key, summary] of Object.entries(result.series)) {
    if (!key.startsWith('http_reqs{') || summary.kind !== 'counter') continue;
    const status = Number(STATUS_TAG.exec(key)?.[1] ?? NaN);
    if (status >= 500) errors += summary.count;
  }
  return errors;
}

/** `seconds`: the load phase (a passing run served every arrival in it; the reported rate would also count the drain). */
function figures(result: RunResult, seconds: number, cpuSeconds: number, idleCpuSeconds: number, rssBytes: number): ConfigRun {
  const m = result.metrics;
  const count = (name: string) => (m[name]?.kind === 'counter' ? m[name].count : 0);
  const duration = m.http_req_duration;
  const failed = m.http_req_failed;
  const requests = count('http_reqs');
  const scheduled = count('iterations') + count('dropped_iterations');
  return {
    requests,
    requestsPerSecond: requests / seconds,
    p50Ms: duration?.kind === 'trend' ? duration.med : NaN,
    p95Ms: duration?.kind === 'trend' ? duration.p95 : NaN,
    p99Ms: duration?.kind === 'trend' ? duration.p99 : NaN,
    failedRate: failed?.kind === 'rate' ? failed.rate : NaN,
    errorRate: requests > 0 ? serverErrors(result) / requests : 0,
    droppedRate: scheduled > 0 ? count('dropped_iterations') / scheduled : 0,
    cpuMsPerRequest: requests > 0 ? (Math.max(cpuSeconds - idleCpuSeconds, 0) * 1000) / requests : NaN,
    grossCpuMsPerRequest: requests > 0 ? (cpuSeconds * 1000) / requests : NaN,
    rssMiB: rssBytes / 2 ** 20,
  };
}

/** Why a run misses the target, or '' when it meets it. */
export function missOf(run: ConfigRun, p95TargetMs: number): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  if (!(run.requests > 0)) return 'no request completed';
  if (run.errorRate > MAX_LOST_SHARE) return `${pct(run.errorRate)} server errors`;
  if (run.droppedRate > MAX_LOST_SHARE) return `${pct(run.droppedRate)} of arrivals dropped (every VU busy)`;
  if (!(run.p95Ms <= p95TargetMs)) return `p95 ${run.p95Ms.toFixed(1)} ms > ${p95TargetMs.toFixed(1)} ms`;
  return '';
}

const roundRate = (rate: number) => Math.max(1, Math.round(rate));

/**
 * The highest passing rate: probes from `start`, stepping up from a pass or down from a failure until a
 * pass sits below a failure, then bisects (geometric midpoints) to `precision`. `floor`, a pass already
 * measured, stops a downward walk that reaches it. A miss is probed twice. Bounded by `maxProbes`.
 */
export async function searchMaxRate(
  probe: (rate: number) => Promise<Probe>,
  start: number,
  settings: SearchSettings & { floor?: Probe },
): Promise<{ best: Probe | undefined; failedAt: number | null; probes: number }> {
  const step = settings.step ?? 1.25;
  const precision = settings.precision ?? 1.12;
  const maxProbes = settings.maxProbes ?? 8;
  let best: Probe | undefined;
  let failedAt = Infinity;
  let probes = 0;
  const tried = new Set<number>();
  const attempt = async (rate: number) => {
    probes++;
    tried.add(rate);
    let p = await probe(rate);
    // A miss counts once a second probe at the rate confirms it: one stall of a shared machine in a short
    // probe otherwise ends a search far below the capacity (the noise, not the server, set the answer).
    if (!p.passed && probes < maxProbes) {
      probes++;
      p = await probe(rate);
    }
    if (!p.passed) failedAt = Math.min(failedAt, rate);
    else if (!best || rate > best.rate) best = p;
  };
  for (let rate = roundRate(start); probes < maxProbes; ) {
    await attempt(rate);
    if (best && failedAt < Infinity) break;
    const next = roundRate(best ? best.rate * step : rate / step);
    if (!best && settings.floor?.passed && next <= settings.floor.rate) {
      best = settings.floor;
      break;
    }
    if (tried.has(next)) break; // at the 1 operation/s floor
    rate = next;
  }
  while (best && failedAt < Infinity && failedAt / best.rate > precision && probes < maxProbes) {
    const mid = roundRate(Math.sqrt(best.rate * failedAt));
    if (tried.has(mid)) break; // integer rates: nothing left between them
    await attempt(mid);
  }
  // Out of probes before any pass: the pass already measured below is the best known.
  if (!best && settings.floor?.passed) best = settings.floor;
  return { best, failedAt: Number.isFinite(failedAt) ? failedAt : null, probes };
}

export async function runAttribution(options: AttributionOptions): Promise<AttributionResult> {
  const listed = (await admin(options, 'GET', '/api/admin/flags')) as { flags: Array<Omit<FlagInfo, 'kind'> & { kind?: FlagInfo['kind'] }> };
  const flags: FlagInfo[] = listed.flags.map((f) => ({ name: f.name, description: f.description, default: f.default, kind: f.kind ?? 'optimization' }));
  const optimizations = flags.filter((f) => f.kind === 'optimization');
  const configs: Array<{ name: string; off: (flag: string) => boolean }> = [
    { name: ALL_ON, off: () => false },
    { name: ALL_OFF, off: () => true },
    ...(options.perFlag ? optimizations.map((f) => ({ name: offAlone(f.name), off: (flag: string) => flag === f.name })) : []),
  ];
  const mix = tradingScenario({
    executor: { type: 'constant-arrival-rate', rate: options.startRate, duration: `${options.seconds}s`, preAllocatedVUs: 1, maxVUs: options.vus },
    weights: ATTRIBUTION_WEIGHTS,
    ...(options.websocket === undefined ? {} : { websocket: options.websocket }),
    thresholds: {},
    // An iteration still running 2 s after its probe (a market order polling for its fill) is abandoned rather than waited for 10 s.
    gracefulStop: '2s',
  });
  // Set-up (an account per VU) once a round, and no per-VU verification: both took longer than the
  // measured seconds and are not what a flag changes (test/loadtest covers them). A fresh run id per
  // run keeps client order ids unique on the reused accounts.
  let accounts: Promise<TradingData> | undefined;
  const scenario: Scenario<TradingData> = {
    ...mix,
    setup: async (ctx) => ({ ...(await (accounts ??= Promise.resolve(mix.setup!(ctx)))), runId: randomBytes(4).toString('hex') }),
    vuTeardown: undefined,
  };
  let probes = 0;
  let idleCpuPerSecond = 0;
  let target = options.p95TargetMs ?? Infinity;
  const run = async (rate: number, stage: ProbeStage): Promise<Probe> => {
    // Server CPU over the load phase only: setup (accounts, sockets) and the drain after it are not the measured window.
    let cpuStart = NaN;
    let cpuEnd = NaN;
    let timer: NodeJS.Timeout | undefined;
    const onStart = () => {
      cpuStart = options.cpuSeconds();
      timer = setTimeout(() => (cpuEnd = options.cpuSeconds()), options.seconds * 1000);
    };
    const result = await runLoadTest(scenario, { target: options.target, name: `attribution ${stage.config} at ${rate}/s`, rate, duration: `${options.seconds}s`, env: { TACHYON_ADMIN_TOKEN: options.adminToken }, onStart });
    clearTimeout(timer);
    if (Number.isNaN(cpuEnd)) cpuEnd = options.cpuSeconds();
    probes++;
    const f = figures(result, options.seconds, cpuEnd - cpuStart, idleCpuPerSecond * options.seconds, options.rssBytes());
    const why = missOf(f, target);
    const p: Probe = { ...f, rate, passed: why === '', why };
    options.onProbe?.(stage, p);
    return p;
  };
  // What the process burns with no load (the market feed, timers): not caused by requests, so not charged to them.
  const idleCpu = async (): Promise<number> => {
    const seconds = options.idleSeconds ?? 2;
    if (seconds <= 0) return 0;
    const before = options.cpuSeconds();
    await sleep(seconds * 1000);
    return (options.cpuSeconds() - before) / seconds;
  };
  const current = new Map<string, boolean>();
  await setFlags(options, flags, () => false, current);
  // Calibration, all on: the first run warms a fresh process (JIT, caches, connections) and is not used;
  // the median of three more keeps one stalled run of a shared machine from setting the target.
  const startRate = roundRate(options.startRate);
  await run(startRate, { purpose: 'calibrate', config: ALL_ON });
  const calibration: number[] = [];
  for (let i = 0; i < 3; i++) calibration.push((await run(startRate, { purpose: 'calibrate', config: ALL_ON })).p95Ms);
  const calibrated = median(calibration);
  const factor = options.p95Factor ?? 4;
  const p95TargetSource =
    options.p95TargetMs === undefined ? `${factor} × all on's p95 at ${startRate} operations/s (median of 3 runs: ${calibrated.toFixed(1)} ms), calibrated at the start` : 'fixed';
  if (options.p95TargetMs === undefined) {
    if (!Number.isFinite(calibrated)) throw new Error(`calibration at ${startRate} operations/s completed no request`);
    target = factor * calibrated;
  }
  // Scouting, all on: doubling from twice the calibration rate, where every search of the first round starts.
  const scout = await searchMaxRate((rate) => run(rate, { purpose: 'scout', config: ALL_ON }), 2 * options.startRate, { step: 2, precision: 1.25, maxProbes: options.maxProbes });
  const scoutedRate = scout.best?.rate ?? roundRate(options.startRate);
  const equalRate = roundRate((options.equalRateShare ?? 0.5) * scoutedRate);

  const atRate: Record<string, ConfigRun[]> = Object.fromEntries(configs.map((c) => [c.name, []]));
  const saturation: Record<string, SaturationRun[]> = Object.fromEntries(configs.map((c) => [c.name, []]));
  const idle: number[] = [];
  // Each round starts further along the list (two configurations: alternately), so none always sits at a
  // round's start, middle or end: reversing alone left the middle of a long round to the same flags.
  const shift = Math.max(1, Math.round(configs.length / options.rounds));
  for (let round = 0; round < options.rounds; round++) {
    accounts = undefined;
    idleCpuPerSecond = await idleCpu();
    idle.push(idleCpuPerSecond);
    for (const config of configs.map((_, i) => configs[(i + round * shift) % configs.length]!)) {
      await setFlags(options, flags, config.off, current);
      const equal = await run(equalRate, { purpose: 'equal rate', config: config.name, round });
      const equalFigures = withoutProbeFields(equal);
      atRate[config.name]!.push(equalFigures);
      // Each search starts where this configuration's last one ended (the first round: all on's scouted rate).
      const start = saturation[config.name]!.at(-1)?.rate || scoutedRate;
      const search = await searchMaxRate((rate) => run(rate, { purpose: 'search', config: config.name, round }), start, { step: options.step, precision: options.precision, maxProbes: options.maxProbes, floor: equal });
      const found: SaturationRun = search.best
        ? { ...withoutProbeFields(search.best), rate: search.best.rate, failedAt: search.failedAt, probes: search.probes }
        : { ...withoutProbeFields(equal), requests: 0, requestsPerSecond: 0, rate: 0, failedAt: search.failedAt, probes: search.probes };
      saturation[config.name]!.push(found);
      options.onRound?.(round, config.name, equalFigures, found);
    }
  }
  // Back to each flag's configured state (shared state removed), as before the run.
  for (const f of flags) await admin(options, 'DELETE', `/api/admin/flags/${encodeURIComponent(f.name)}?reason=bench%3Aattribution`);
  return {
    flags: flags.map((f) => attribute(f, { atRate: atRate[ALL_ON]!, saturation: saturation[ALL_ON]! }, saturation[offAlone(f.name)] && { atRate: atRate[offAlone(f.name)]!, saturation: saturation[offAlone(f.name)]! })),
    configs: atRate,
    saturation,
    p95TargetMs: target,
    p95TargetSource,
    scoutedRate,
    equalRate,
    probes,
    idleCpuMsPerSecond: idle.map((c) => c * 1000),
    allOnOverAllOff: overall({ atRate: atRate[ALL_ON]!, saturation: saturation[ALL_ON]! }, { atRate: atRate[ALL_OFF]!, saturation: saturation[ALL_OFF]! }),
  };
}

function withoutProbeFields(p: Probe): ConfigRun {
  const { passed: _passed, why: _why, rate: _rate, ...rest } = p;
  return rest;
}

export const med = <K extends string>(runs: ReadonlyArray<Record<K, number>>, key: K) => median(runs.map((r) => r[key]));

interface Side {
  atRate: readonly ConfigRun[];
  saturation: readonly SaturationRun[];
}

function overall(on: Side, off: Side): AttributionResult['allOnOverAllOff'] {
  const max = { on: med(on.saturation, 'requestsPerSecond'), off: med(off.saturation, 'requestsPerSecond') };
  const cpu = { on: med(on.saturation, 'cpuMsPerRequest'), off: med(off.saturation, 'cpuMsPerRequest') };
  const p95 = { on: med(on.atRate, 'p95Ms'), off: med(off.atRate, 'p95Ms') };
  return {
    throughput: max.on / max.off,
    roundRatios: on.saturation.map((r, i) => r.requestsPerSecond / (off.saturation[i]?.requestsPerSecond ?? NaN)),
    maxRequestsPerSecond: max,
    capacity: cpu.off / cpu.on,
    cpuMsPerRequest: cpu,
    p95: p95.off / p95.on,
    p95Ms: p95,
    ...judge(on.saturation, off.saturation),
  };
}

/** The rank test over rounds of throughput at equal p95: "regressed" with the optimization(s) off means they buy throughput. */
function judge(on: readonly SaturationRun[], off: readonly SaturationRun[]): { verdict: FlagVerdict; detail: string } {
  if (Math.min(on.length, off.length) < MIN_ROUNDS) {
    return { verdict: 'too few rounds', detail: `${Math.min(on.length, off.length)} rounds; ${MIN_ROUNDS} are needed to rank throughput at equal p95 against the noise` };
  }
  const metric = (runs: readonly SaturationRun[]) => ({ bench: 'attribution', name: 'throughput at equal p95', unit: 'req/s', better: 'higher' as const, rounds: runs.map((r) => r.requestsPerSecond) });
  const c = compareRounds(metric(on), metric(off));
  // Enough rounds (checked above), so "not comparable" means a round's search passed at no rate (throughput 0).
  const verdicts: Record<Verdict, FlagVerdict> = { regressed: 'gain', improved: 'costs more than it saves', unchanged: 'no measurable gain', 'not comparable': 'a round found no passing rate' };
  return { verdict: verdicts[c.verdict], detail: `switching it off: ${c.note}` };
}

function attribute(flag: FlagInfo, on: Side, off: Side | undefined): FlagAttribution {
  const pair = <K extends keyof ConfigRun>(key: K, side: 'atRate' | 'saturation') => ({ on: med(on[side], key), off: off ? med(off[side], key) : NaN });
  const max = pair('requestsPerSecond', 'saturation');
  const p95 = pair('p95Ms', 'atRate');
  const base = {
    flag: flag.name,
    description: flag.description,
    kind: flag.kind,
    maxRequestsPerSecond: max,
    throughputVsAllOn: max.off / max.on,
    cpuMsPerRequest: pair('cpuMsPerRequest', 'saturation'),
    p95Ms: p95,
    latencyGain: p95.off / p95.on,
    rssMiB: pair('rssMiB', 'saturation'),
  };
  if (flag.kind === 'instrumentation') return { ...base, verdict: 'instrumentation', detail: `held at its default (${flag.default ? 'on' : 'off'}) in every configuration: a feature that costs, not an optimization` };
  if (!off) return { ...base, verdict: 'not measured', detail: 'this run compared all on with all off only (BENCH_ATTRIBUTION_PER_FLAG=1 measures each flag off alone)' };
  return { ...base, ...judge(on.saturation, off.saturation) };
}
