/**
 * A chaos run: starts its own cluster (environment.ts), runs the steady trading load of
 * scenarios/chaos.ts through HAProxy while the schedule injects faults one after another, and
 * judges
 *  - the SLOs during each fault (what the degraded system promises, faults.ts) and after it
 *    (the recovery: the steady SLO again, from a few seconds after the fault healed), and before
 *    the first fault, as intervals of the run (shaded on the report's plots);
 *  - correctness: no acknowledged order lost (every order id answered 201 is in the database),
 *    the database reconciles (positions vs fills, cash vs its flows, orders vs executions), no
 *    sequence gap on any orders channel (ws_seq_gaps, per interval and over the run), and every
 *    planned fault injected.
 * The per-VU HTTP verification of the trading mix is replaced by the database checks: an order
 * whose answer a fault swallowed (the instance died after committing it) exists without the VU
 * knowing, which the global reconciliation accounts for and a per-VU one cannot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { epochNowMs } from '../metrics.ts';
import { openServer } from '../../db/pg.ts';
import { reconcile } from '../../trading/reconcile.ts';
import type { IntervalSpec } from '../intervals.ts';
import type { RunResult } from '../results.ts';
import { runLoadTest } from '../run.ts';
import type { RunOptions } from '../run.ts';
import type { Scenario, ThresholdInput } from '../scenario.ts';
import type { ThresholdResult } from '../thresholds.ts';
import type { TradingData } from '../trading/accounts.ts';
import type { TraderState } from '../trading/state.ts';
import { ChaosEnvironment } from './environment.ts';
import type { ChaosEnvironmentOptions } from './environment.ts';
import { FAULTS } from './faults.ts';
import type { FaultKind } from './faults.ts';
import { planSchedule } from './schedule.ts';
import type { PlannedFault } from './schedule.ts';

export interface ChaosOptions {
  environment: ChaosEnvironmentOptions;
  /** The steady load (scenarios/chaos.ts or a copy): a trading-mix scenario. */
  scenario: Scenario<TradingData>;
  faults: readonly FaultKind[];
  /** The load's duration (the scenario's unless given). */
  durationMs: number;
  leaseTtlMs: number;
  /** The steady SLO, judged before the first fault and in every recovery. */
  slo: ThresholdInput;
  /** Seconds after a fault healed before its recovery is judged. */
  settleMs?: number;
  /** Passed to the load test (rate, vus, thresholds, tags, progress, signal). */
  load: Omit<RunOptions, 'target' | 'env' | 'duration' | 'onStart' | 'intervals'>;
  /** Keep the database after the run (it is dropped otherwise). */
  keepDatabase?: boolean;
  log?: (line: string) => void;
}

export interface InjectedFault {
  kind: FaultKind;
  /** Epoch ms on the load's clock. */
  startMs: number;
  endMs: number;
  detail: string;
  error?: string;
}

export interface ChaosResult {
  result: RunResult;
  faults: InjectedFault[];
  skipped: PlannedFault[];
  reconcileProblems: string[];
  lostOrders: number[];
}

const SETTLE_MS = 5_000;
/** The shortest recovery judged after a fault: a late fault waits for it. */
const MIN_RECOVERY_MS = 5_000;
const SEQ_GAPS = { 'ws_seq_gaps{channel:orders}': ['count==0'] };

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const plan = planSchedule(o.faults, o.durationMs);
  const log = o.log ?? (() => undefined);
  const settleMs = o.settleMs ?? SETTLE_MS;
  const env = await ChaosEnvironment.start(o.environment);
  let stopped = false;
  try {
    const traders = new Set<TraderState>();
    const injected: InjectedFault[] = [];
    const skipped: PlannedFault[] = [];
    const abort = new AbortController();
    let schedule: Promise<void> = Promise.resolve();
    let startMs = 0;
    const result = await runLoadTest(chaosLoad(o.scenario, traders), {
      ...o.load,
      target: env.url,
      duration: o.durationMs,
      name: o.load.name ?? 'chaos',
      env: { TACHYON_ADMIN_TOKEN: env.adminToken },
      onStart: (at) => {
        startMs = at;
        schedule = runSchedule({ plan, env, startMs: at, durationMs: o.durationMs, leaseTtlMs: o.leaseTtlMs, gapMs: settleMs + MIN_RECOVERY_MS, signal: abort.signal, injected, skipped, log });
      },
      intervals: () => intervalsOf(injected, startMs, o.durationMs, o.slo, settleMs),
    }).finally(() => abort.abort());
    await schedule;

    log('checking: acknowledged orders in the database, reconciliation (after the cluster stopped)…');
    const acknowledged = [...traders].flatMap((t) => t.acknowledged);
    await env.stopCluster();
    stopped = true;
    const db = await openServer({ url: env.databaseUrl, poolSize: 1, applicationName: 'tachyon-chaos' });
    let lostOrders: number[];
    let reconcileProblems: string[];
    try {
      const found = await db.query<{ id: string }>('SELECT id FROM trading_orders WHERE id = ANY($1::bigint[])', [acknowledged]);
      const present = new Set(found.rows.map((r) => Number(r.id)));
      lostOrders = acknowledged.filter((id) => !present.has(id));
      reconcileProblems = (await reconcile(db)).problems;
    } finally {
      await db.close();
    }
    const checks: ThresholdResult[] = [
      check('orders_lost{source:database}', 'count==0', lostOrders.length, lostOrders.length === 0),
      check('reconcile_problems', 'count==0', reconcileProblems.length, reconcileProblems.length === 0),
      check('faults_injected', `count==${plan.length}`, injected.filter((f) => !f.error).length, skipped.length === 0 && injected.every((f) => !f.error)),
    ];
    return { result: withChecks(result, checks), faults: injected, skipped, reconcileProblems, lostOrders };
  } finally {
    if (!stopped) await env.stopCluster().catch(() => undefined);
    await env.stop({ keepDatabase: o.keepDatabase });
  }
}

/** The trading scenario, remembering every VU's state (acknowledged orders) and verifying nothing per VU. */
function chaosLoad(base: Scenario<TradingData>, traders: Set<TraderState>): Scenario<TradingData> {
  const perVu = new Set(['orders_missing', 'portfolio_mismatches']);
  const thresholds = Object.fromEntries(Object.entries(base.options.thresholds ?? {}).filter(([key]) => !perVu.has(key)));
  return {
    ...base,
    options: { ...base.options, thresholds },
    async default(ctx) {
      try {
        await base.default(ctx);
      } finally {
        const trader = ctx.vu.state.trader as TraderState | undefined;
        if (trader) traders.add(trader);
      }
    },
    async vuTeardown(ctx) {
      await (ctx.vu.state.trader as TraderState | undefined)?.stream?.close();
    },
  };
}

interface ScheduleRun {
  plan: PlannedFault[];
  env: ChaosEnvironment;
  startMs: number;
  durationMs: number;
  leaseTtlMs: number;
  /** After a fault healed, the next one waits at least this long (its recovery is judged meanwhile). */
  gapMs: number;
  signal: AbortSignal;
  injected: InjectedFault[];
  skipped: PlannedFault[];
  log: (line: string) => void;
}

async function runSchedule(s: ScheduleRun): Promise<void> {
  const occurrences = new Map<FaultKind, number>();
  let freeAt = 0;
  for (const planned of s.plan) {
    const due = Math.max(s.startMs + planned.atMs, freeAt + s.gapMs);
    // A fault that could not end, with a recovery after it, before the load does is not started.
    if (due > s.startMs + s.durationMs - s.gapMs - 5_000) {
      s.skipped.push(planned);
      s.log(`[chaos] ${planned.kind}: skipped, no time left (an earlier fault ran late); run longer with --duration`);
      continue;
    }
    await sleepUntil(due, s.signal);
    if (s.signal.aborted) return;
    const occurrence = occurrences.get(planned.kind) ?? 0;
    occurrences.set(planned.kind, occurrence + 1);
    let began = epochNowMs();
    const fault: InjectedFault = { kind: planned.kind, startMs: began, endMs: began, detail: '' };
    s.injected.push(fault);
    s.log(`[chaos] t=${((began - s.startMs) / 1000).toFixed(1)}s ${planned.kind}…`);
    try {
      fault.detail = await FAULTS[planned.kind].run({ env: s.env, leaseTtlMs: s.leaseTtlMs, occurrence, signal: s.signal, began: () => (fault.startMs = began = epochNowMs()) });
    } catch (error) {
      fault.error = (error as Error).message;
      fault.detail = `failed: ${fault.error}`;
    }
    fault.endMs = freeAt = epochNowMs();
    s.log(`[chaos] t=${((fault.endMs - s.startMs) / 1000).toFixed(1)}s ${planned.kind} healed: ${fault.detail}`);
  }
}

/** Before the first fault, each fault, and each recovery (from settle after it healed to the next fault or the end). */
export function intervalsOf(faults: readonly InjectedFault[], startMs: number, durationMs: number, slo: ThresholdInput, settleMs: number): IntervalSpec[] {
  const sec = (ms: number): number => Math.max(0, Math.floor((ms - startMs) / 1000));
  const endS = sec(startMs + durationMs) - 1;
  const steady = { ...slo, ...SEQ_GAPS };
  const out: IntervalSpec[] = [];
  const first = faults[0];
  // The first seconds open sessions and connections: judged from the third.
  if (first && sec(first.startMs) - 1 >= 2) out.push({ label: 'before faults', kind: 'phase', fromS: 2, toS: sec(first.startMs) - 1, thresholds: steady });
  faults.forEach((f, i) => {
    out.push({ label: f.kind, kind: 'fault', fromS: sec(f.startMs), toS: sec(f.endMs), thresholds: { ...FAULTS[f.kind].during, ...SEQ_GAPS }, detail: f.detail });
    const from = sec(f.endMs + settleMs);
    const next = faults[i + 1];
    const to = next ? sec(next.startMs) - 1 : endS;
    if (to >= from) out.push({ label: `after ${f.kind}`, kind: 'recovery', fromS: from, toS: to, thresholds: steady });
  });
  return out;
}

function check(key: string, source: string, observed: number, passed: boolean): ThresholdResult {
  return { key, source, passed, observed, noData: false, abortOnFail: false };
}

/** The run's result with the chaos checks among its thresholds, failing it when one fails. */
function withChecks(result: RunResult, checks: ThresholdResult[]): RunResult {
  const thresholds = [...result.thresholds, ...checks];
  if (result.status !== 'passed' || checks.every((c) => c.passed)) return { ...result, thresholds };
  return { ...result, thresholds, status: 'failed', exitCode: 99 };
}

async function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - epochNowMs();
  if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => undefined);
}
