/**
 * The rollout controller of `tachyon cluster`: takes the pending rollout the API recorded and runs it.
 *  - Canary: start the new version's instances (weight 0), then for each step set HAProxy weights so the
 *    new version gets that share, scrape every instance's /metrics over an analysis window, judge the
 *    canary against the stable instances on the same window (src/rollout/analysis.ts), and go on, wait
 *    another window (too little traffic) or roll back. Past the last analysed step: promote (start more
 *    new instances until the new set matches the old, all traffic to it, drain and stop the old ones).
 *  - Blue-green: the whole new set started and ready, then one switch of weights (new all, old none, in
 *    one runtime API command line); promote stops the old set, abort switches back and stops the new one.
 * Rolling back: the new version's weight 0 (no new request), wait for its in-flight requests, stop it.
 * Promote and abort asked through the API are picked up between samples. Progress, every analysis with
 * its numbers, and the reason of the outcome go to the database as they happen.
 */
import { analyse, type Analysis } from './analysis.ts';
import type { RolloutPool } from './cluster-pool.ts';
import { emptyWindow, mergeWindows, scrapeInstance, windowBetween, type WindowStats } from './instance-window.ts';
import type { RolloutStore } from './store.ts';
import type { Rollout, RolloutInstance, StepRecord } from './types.ts';

export interface RolloutControllerOptions {
  store: RolloutStore;
  pool: RolloutPool;
  /** Reads /metrics (the admin token, or METRICS_TOKEN). */
  metricsToken: string;
  /** The cluster's URL, for the heartbeat. */
  url: string;
  pollMs?: number;
  /** Scrape interval within an analysis window (one event-loop delay sample per instance each). */
  sampleMs?: number;
  /** Longest wait for in-flight requests on a server taken out of rotation. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/** HAProxy weights: 1–256 per server. */
const MAX_WEIGHT = 256;
const HEARTBEAT_MS = 5_000;

/**
 * Weights giving the new version `share` percent of the traffic, spread evenly within each group. HAProxy's
 * weighted round robin gives each server requests in proportion to its weight.
 */
export function weightsFor(share: number, stable: readonly string[], next: readonly string[]): Map<string, number> {
  const perNext = next.length > 0 ? share / next.length : 0;
  const perStable = stable.length > 0 ? (100 - share) / stable.length : 0;
  const scale = MAX_WEIGHT / Math.max(perNext, perStable, 1e-9);
  const weight = (per: number) => (per <= 0 ? 0 : Math.max(1, Math.round(per * scale)));
  return new Map([...stable.map((n) => [n, weight(perStable)] as const), ...next.map((n) => [n, weight(perNext)] as const)]);
}

/** Canary instances for a share: at least `minimum`, and enough that each carries no more than a stable instance. */
export function canaryCount(share: number, stable: number, minimum: number): number {
  return Math.max(minimum, share >= 100 ? stable : Math.ceil((stable * share) / (100 - share) - 1e-9));
}

class Interrupted extends Error {
  constructor(readonly action: 'promote' | 'abort', readonly by: string) {
    super(`${action} by ${by}`);
  }
}

export class RolloutController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly sampleMs: number;

  constructor(private readonly options: RolloutControllerOptions) {
    this.pollMs = options.pollMs ?? 500;
    this.sampleMs = options.sampleMs ?? 1_000;
  }

  async start(): Promise<void> {
    const orphans = await this.options.store.failOrphans('the cluster that ran it stopped or restarted (its instances went with it)');
    if (orphans > 0) this.log(`[rollout] ${orphans} rollout(s) left by an earlier cluster marked failed`);
    // Its own timer: a rollout takes minutes, and the API must keep seeing a live controller meanwhile.
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    const loop = () => {
      if (this.stopping) return;
      this.running = this.poll()
        .catch((error: unknown) => this.log(`[rollout] ${(error as Error).message}`))
        .finally(() => {
          if (!this.stopping) this.timer = setTimeout(loop, this.pollMs);
        });
    };
    loop();
  }

  /** Rolls back a rollout under way (the cluster is stopping) and withdraws the heartbeat. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    await this.running;
    await this.options.store.clearHeartbeat();
  }

  private beat(): void {
    this.options.store.heartbeat({ stable: this.options.pool.stable(), url: this.options.url }, HEARTBEAT_MS).catch((error: unknown) => this.log(`[rollout] heartbeat: ${(error as Error).message}`));
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private async poll(): Promise<void> {
    const active = await this.options.store.active();
    if (!active) return;
    if (active.status !== 'pending') {
      // Active but not ours: left over from a controller that died without marking it (start() handles restarts).
      return;
    }
    await this.run(active);
    // The API shows the new stable set at once after a promotion.
    this.beat();
  }

  private async run(rollout: Rollout): Promise<void> {
    this.log(`[rollout] ${rollout.id}: ${rollout.strategy} of ${rollout.spec.version.label ?? rollout.spec.version.dir ?? 'this installation'} started by ${rollout.requestedBy}`);
    const state = new RunState(rollout, this.options.store, this.options.pool.stable());
    try {
      if (state.stable.length === 0) throw new Error('no instance serves the current version');
      if (rollout.strategy === 'canary') await this.canary(state);
      else await this.blueGreen(state);
    } catch (error) {
      if (error instanceof Interrupted && error.action === 'promote') {
        const why = rollout.strategy === 'canary' ? `promoted by ${error.by} before every step was analysed` : `promoted by ${error.by}`;
        await this.promote(state, why).catch((failure: unknown) => this.rollBack(state, `promotion failed: ${(failure as Error).message}`));
      } else if (error instanceof Interrupted) {
        await this.rollBack(state, rollout.strategy === 'canary' ? `aborted by ${error.by}` : `switched back by ${error.by}`);
      } else {
        await this.rollBack(state, `rollout failed: ${(error as Error).message}`);
      }
    }
  }

  /** Throws Interrupted when the API asked for promote or abort (or the cluster is stopping). */
  private async checkAction(state: RunState): Promise<void> {
    if (this.stopping) throw new Interrupted('abort', 'the cluster stopping');
    const action = await this.options.store.takeAction(state.rollout.id);
    if (action) throw new Interrupted(action.action, action.by);
  }

  private async startInstances(state: RunState, prefix: string, count: number): Promise<void> {
    const { pool } = this.options;
    const first = state.next.length;
    const started = await Promise.allSettled(Array.from({ length: count }, (_, k) => pool.start(`${prefix}${state.rollout.id}-${first + k + 1}`, state.rollout.spec.version)));
    for (const r of started) if (r.status === 'fulfilled') state.next.push(r.value);
    await state.save({ instances: state.next });
    const failed = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(`${failed.length} of ${count} new instances did not start: ${(failed[0]!.reason as Error).message}`);
  }

  private async canary(state: RunState): Promise<void> {
    const { pool } = this.options;
    const { spec } = state.rollout;
    await state.save({ status: 'starting' });
    await this.startInstances(state, 'c', spec.canaryInstances);
    await this.checkAction(state);
    await state.save({ status: 'progressing' });
    for (const share of spec.steps.filter((s) => s < 100)) {
      // No canary instance may carry more than a stable one (as Argo scales the canary's replicas with its
      // weight): one canary at 50% beside two stable instances would be judged on twice their load.
      const needed = canaryCount(share, state.stable.length, spec.canaryInstances) - state.next.length;
      if (needed > 0) await this.startInstances(state, 'c', needed);
      await pool.setWeights(weightsFor(share, names(state.stable), names(state.next)));
      const step: StepRecord = { share, startedAt: new Date().toISOString(), outcome: 'running', windows: 0 };
      state.steps.push(step);
      await state.save({ share, steps: state.steps });
      this.log(`[rollout] ${state.rollout.id}: ${share}% to the canary`);
      // A fresh process is slower at first (JIT, caches, shards): the first step, and a step that added instances, warm up.
      if (state.steps.length === 1 || needed > 0) await this.wait(state, spec.warmupSeconds * 1000);
      // An inconclusive window is extended, not restarted: the next judgement covers both.
      const window = await this.openWindow(state);
      let analysis: Analysis | undefined;
      while (step.windows < spec.maxWindows) {
        analysis = await window.extend(spec.stepSeconds * 1000);
        step.windows++;
        step.analysis = analysis;
        await state.save({ steps: state.steps });
        if (analysis.verdict !== 'inconclusive') break;
      }
      step.endedAt = new Date().toISOString();
      if (analysis?.verdict !== 'pass') {
        step.outcome = 'failed';
        await state.save({ steps: state.steps });
        await this.rollBack(state, `step ${share}%: ${analysis?.verdict === 'fail' ? analysis.reason : `inconclusive after ${step.windows} windows: ${analysis?.reason}`}`);
        return;
      }
      step.outcome = 'passed';
      await state.save({ steps: state.steps });
      this.log(`[rollout] ${state.rollout.id}: ${share}% passed (${analysis.canaryRequests} canary, ${analysis.stableRequests} stable requests)`);
    }
    await this.promote(state, `every step passed (${spec.steps.join(' → ')}%)`);
  }

  /** Waits, still answering promote and abort. */
  private async wait(state: RunState, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(this.pollMs, Math.max(0, end - Date.now()))));
      await this.checkAction(state);
    }
  }

  /**
   * An analysis window opened now: a scrape of every instance; each extend() scrapes every sampleMs for
   * the given time (one event-loop sample each) and judges everything since the opening scrape.
   */
  private async openWindow(state: RunState): Promise<{ extend(durationMs: number): Promise<Analysis> }> {
    const instances = [...state.stable, ...state.next];
    const scrape = async () => Promise.all(instances.map((i) => scrapeInstance(i.url, this.options.metricsToken).catch(() => undefined)));
    const first = await scrape();
    const loops = instances.map(() => [] as number[]);
    let last = first;
    return {
      extend: async (durationMs: number) => {
        const end = Date.now() + durationMs;
        while (Date.now() < end) {
          await new Promise((r) => setTimeout(r, Math.min(this.sampleMs, Math.max(0, end - Date.now()))));
          await this.checkAction(state);
          const now = await scrape();
          now.forEach((s, k) => s && loops[k]!.push(s.loopP99));
          last = now.map((s, k) => s ?? last[k]);
        }
        const windows = instances.map((_, k) => (first[k] && last[k] ? windowBetween(first[k], last[k], loops[k]!) : undefined));
        const group = (from: number, to: number): WindowStats => {
          const ws = windows.slice(from, to).filter((w): w is WindowStats => w !== undefined);
          return ws.length > 0 ? mergeWindows(ws) : emptyWindow();
        };
        return analyse(group(state.stable.length, instances.length), group(0, state.stable.length), state.rollout.spec.analysis);
      },
    };
  }

  private async blueGreen(state: RunState): Promise<void> {
    const { pool } = this.options;
    await state.save({ status: 'starting' });
    await this.startInstances(state, 'g', state.stable.length);
    await this.checkAction(state);
    // One switch: the new set takes every new request, the old one keeps only what it is finishing.
    await pool.setWeights(weightsFor(100, names(state.stable), names(state.next)));
    state.steps.push({ share: 100, startedAt: new Date().toISOString(), outcome: 'running', windows: 0 });
    await state.save({ status: 'switched', share: 100, steps: state.steps });
    this.log(`[rollout] ${state.rollout.id}: switched to ${names(state.next).join(', ')}; promote to stop ${names(state.stable).join(', ')}, abort to switch back`);
    for (;;) await this.wait(state, 60_000);
  }

  private async promote(state: RunState, reason: string): Promise<void> {
    const { pool } = this.options;
    await state.save({ status: 'promoting' });
    // The new set takes all the traffic: as many instances as the old set had.
    const missing = state.stable.length - state.next.length;
    if (missing > 0) await this.startInstances(state, state.rollout.strategy === 'canary' ? 'c' : 'g', missing);
    await pool.setWeights(weightsFor(100, names(state.stable), names(state.next)));
    await state.save({ share: 100 });
    for (const old of state.stable) await pool.drained(old.name, this.options.drainTimeoutMs ?? 30_000);
    await Promise.all(state.stable.map((old) => pool.stop(old.name)));
    pool.adopt(state.next);
    const last = state.steps.at(-1);
    if (last?.outcome === 'running') Object.assign(last, { outcome: 'promoted', endedAt: new Date().toISOString() });
    state.steps.push({ share: 100, startedAt: new Date().toISOString(), endedAt: new Date().toISOString(), outcome: 'promoted', windows: 0 });
    await state.save({ status: 'promoted', share: 100, steps: state.steps, reason, finished: true });
    this.log(`[rollout] ${state.rollout.id}: promoted (${reason}); serving: ${names(state.next).join(', ')}`);
  }

  private async rollBack(state: RunState, reason: string): Promise<void> {
    const { pool } = this.options;
    this.log(`[rollout] ${state.rollout.id}: rolling back: ${reason}`);
    try {
      await state.save({ status: 'rolling-back', reason });
      if (state.next.length > 0) {
        await pool.setWeights(weightsFor(0, names(state.stable), names(state.next)));
        await state.save({ share: 0 });
        for (const next of state.next) await pool.drained(next.name, this.options.drainTimeoutMs ?? 30_000);
        await Promise.all(state.next.map((next) => pool.stop(next.name)));
      }
      const last = state.steps.at(-1);
      if (last?.outcome === 'running') Object.assign(last, { outcome: 'skipped', endedAt: new Date().toISOString() });
      await state.save({ status: 'rolled-back', share: 0, steps: state.steps, instances: [], finished: true });
    } catch (error) {
      await state.save({ status: 'failed', reason: `${reason}; rolling back failed: ${(error as Error).message}`, finished: true });
      throw error;
    }
    this.log(`[rollout] ${state.rollout.id}: rolled back`);
  }
}

const names = (instances: readonly RolloutInstance[]) => instances.map((i) => i.name);

/** A running rollout: its groups and steps in memory, saved as they change. */
class RunState {
  readonly next: RolloutInstance[] = [];
  readonly steps: StepRecord[] = [];

  constructor(
    readonly rollout: Rollout,
    private readonly store: RolloutStore,
    readonly stable: RolloutInstance[],
  ) {}

  save(update: Parameters<RolloutStore['update']>[1]): Promise<void> {
    return this.store.update(this.rollout.id, update);
  }
}
