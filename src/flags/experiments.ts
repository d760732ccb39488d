/**
 * Flag experiments: a flag on for a percentage of accounts for a while, the latency of the two
 * cohorts compared, then the previous state restored — on every instance at once.
 *
 * Starting one writes an experiment row and the flag's rollout (tagged with the experiment's id)
 * through FlagRollouts, so every instance applies it. Each instance that sees a flag tagged with an
 * experiment records the latency of requests that act for an account (the principal's first) into
 * two HDR histograms, decided by the flag itself (`on`/`off`), and upserts them into the samples
 * table every second. When the time is up, the first instance to notice (its timer, its flush
 * tick, or a read of the experiment) ends it in one conditional UPDATE, restores the previous state,
 * waits for the other instances' final flushes, merges every instance's histograms exactly and
 * stores the comparison.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { FeatureFlags, Rollout } from '../config/flags.ts';
import type { Database } from '../db/database.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { createHistogram, decodeHistogram, encodeHistogram, mergeHistograms, recordMs, type Histogram } from '../kernel/histogram.ts';
import { compareCohorts, type CohortComparison } from './comparison.ts';
import type { FlagRollouts } from './rollouts.ts';

export type ExperimentStatus = 'running' | 'completed' | 'aborted';

export interface Experiment {
  id: number;
  flag: string;
  percent: number;
  status: ExperimentStatus;
  startedBy: string;
  reason: string;
  startedAt: string;
  endsAt: string;
  endedAt: string | null;
  /** The state restored at the end (null: the flag followed its configuration). */
  previous: Rollout | null;
  /** Per-cohort latency and the significance test; null until the experiment has ended and been measured. */
  result: (CohortComparison & { instances: number }) | null;
}

interface Recorder {
  id: number;
  flag: string;
  on: Histogram;
  off: Histogram;
  dirty: boolean;
}

interface Row {
  id: string;
  flag: string;
  percent: number;
  status: ExperimentStatus;
  started_by: string;
  reason: string;
  started_at: Date;
  ends_at: Date;
  ended_at: Date | null;
  previous: Rollout | null;
  result: Experiment['result'];
}

export interface ExperimentOptions {
  /** How often each instance writes its histograms (and checks for an experiment past its end). */
  flushMs: number;
  /** How long the instance ending an experiment waits for the others' final flushes. */
  settleMs: number;
}

const DEFAULTS: ExperimentOptions = { flushMs: 1_000, settleMs: 1_500 };

export class FlagExperiments {
  private readonly recorders = new Map<string, Recorder>();
  private readonly options: ExperimentOptions;
  private timer: NodeJS.Timeout | undefined;
  private readonly endTimers = new Set<NodeJS.Timeout>();
  private readonly finishing = new Map<number, Promise<Experiment>>();

  constructor(
    private readonly deps: { db: Database; flags: FeatureFlags; rollouts: FlagRollouts; instanceId: string; logger: Logger },
    options: Partial<ExperimentOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    deps.flags.onChange((name) => this.follow(name));
  }

  /** Whether an experiment is recording request latencies (requests must then pass through `install`'s hook). */
  recording(): boolean {
    return this.recorders.size > 0;
  }

  /** Records each request's latency into its cohort while an experiment runs (one size check otherwise). */
  install(app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      if (this.recorders.size === 0) return done();
      const account = request.principal?.accountIds[0];
      if (account !== undefined) {
        for (const recorder of this.recorders.values()) {
          recordMs(this.deps.flags.isEnabled(recorder.flag, account) ? recorder.on : recorder.off, reply.elapsedTime);
          recorder.dirty = true;
        }
      }
      done();
    });
  }

  /** Flushes every second and ends experiments past their end (listen() starts it). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.flushMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const timer of this.endTimers) clearTimeout(timer);
    this.endTimers.clear();
    await Promise.allSettled([...this.finishing.values()]);
    await Promise.allSettled([...this.recorders.values()].map((r) => this.flush(r)));
  }

  async begin(flag: string, input: { percent: number; durationMs: number; actor: string; reason: string }): Promise<Experiment> {
    const state = this.deps.flags.get(flag);
    if (!state) throw new NotFoundError(`unknown feature flag ${flag}`);
    const stored = await this.deps.db.query<{ mode: Rollout['mode']; percent: number }>('SELECT mode, percent FROM feature_flag_states WHERE name = $1', [flag]);
    const row = stored.rows[0];
    const previous: Rollout | null = row ? { mode: row.mode, percent: Number(row.percent), experiment: null } : null;
    let id: number;
    try {
      const inserted = await this.deps.db.query<{ id: string }>(
        `INSERT INTO feature_flag_experiments (flag, percent, status, previous, started_by, reason, ends_at)
         VALUES ($1, $2, 'running', $3, $4, $5, now() + $6 * interval '1 millisecond') RETURNING id`,
        [flag, input.percent, previous && JSON.stringify(previous), input.actor, input.reason, input.durationMs],
      );
      id = Number(inserted.rows[0]!.id);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ConflictError(`an experiment on ${flag} is already running`);
      throw error;
    }
    await this.deps.rollouts.change(flag, { mode: 'accounts', percent: input.percent, experiment: id }, { actor: input.actor, reason: `experiment ${id} started: ${input.reason}` });
    const timer = setTimeout(() => {
      this.endTimers.delete(timer);
      this.finish(id, 'completed', 'experiment timer').catch((error: unknown) => this.deps.logger.warn({ err: error, experiment: id }, 'ending a flag experiment failed'));
    }, input.durationMs).unref();
    this.endTimers.add(timer);
    return this.get(id, false);
  }

  /** An experiment; one past its end is ended first (whichever instance reads it). */
  async get(id: number, endIfDue = true): Promise<Experiment> {
    const { rows } = await this.deps.db.query<Row & { due: boolean }>('SELECT *, ends_at <= now() AS due FROM feature_flag_experiments WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) throw new NotFoundError(`no flag experiment ${id}`);
    if (endIfDue && row.status === 'running' && row.due) return this.finish(id, 'completed', 'experiment read after its end');
    return experimentOf(row);
  }

  async list(flag?: string, limit = 20): Promise<Experiment[]> {
    const { rows } = await this.deps.db.query<Row>('SELECT * FROM feature_flag_experiments WHERE $1::text IS NULL OR flag = $1 ORDER BY id DESC LIMIT $2', [flag ?? null, limit]);
    return rows.map(experimentOf);
  }

  /** Ends an experiment (completed when due, or aborted now): previous state back, cohorts compared. Idempotent. */
  finish(id: number, status: 'completed' | 'aborted', actor: string): Promise<Experiment> {
    let pending = this.finishing.get(id);
    if (!pending) {
      pending = this.end(id, status, actor).finally(() => this.finishing.delete(id));
      this.finishing.set(id, pending);
    }
    return pending;
  }

  private async end(id: number, status: 'completed' | 'aborted', actor: string): Promise<Experiment> {
    const { rows } = await this.deps.db.query<Row>(
      `UPDATE feature_flag_experiments SET status = $2, ended_at = now()
        WHERE id = $1 AND status = 'running' AND ($2 = 'aborted' OR ends_at <= now()) RETURNING *`,
      [id, status],
    );
    const row = rows[0];
    if (!row) return this.get(id, false); // not due yet, or another instance ended it
    await this.deps.rollouts.change(row.flag, row.previous, { actor, reason: `experiment ${id} ${status}: previous state restored` });
    // Every instance flushes when the flag changes; give their last writes time to land.
    await new Promise((resolve) => setTimeout(resolve, this.options.settleMs));
    const samples = await this.deps.db.query<{ instance_id: string; cohort: 'on' | 'off'; histogram: string }>(
      'SELECT instance_id, cohort, histogram FROM feature_flag_experiment_samples WHERE experiment_id = $1',
      [id],
    );
    const cohort = (name: 'on' | 'off') => mergeHistograms(samples.rows.filter((s) => s.cohort === name).map((s) => decodeHistogram(s.histogram)));
    const result = { ...compareCohorts(cohort('on'), cohort('off')), instances: new Set(samples.rows.map((s) => s.instance_id)).size };
    await this.deps.db.query('UPDATE feature_flag_experiments SET result = $2 WHERE id = $1', [id, JSON.stringify(result)]);
    this.deps.logger.info({ experiment: id, flag: row.flag, verdict: result.verdict }, `flag experiment ${id} on ${row.flag} ${status}: ${result.summary}`);
    return this.get(id, false);
  }

  /** A flag changed: start recording for its experiment, or write the last figures of one that ended. */
  private follow(name: string): void {
    const experiment = this.deps.flags.get(name)?.rollout.experiment ?? null;
    const current = this.recorders.get(name);
    if (current && current.id === experiment) return;
    if (current) {
      this.recorders.delete(name);
      this.flush(current).catch((error: unknown) => this.deps.logger.warn({ err: error, experiment: current.id }, 'flag experiment flush failed'));
    }
    if (experiment !== null) this.recorders.set(name, { id: experiment, flag: name, on: createHistogram(), off: createHistogram(), dirty: false });
  }

  private tick(): void {
    for (const recorder of this.recorders.values()) {
      this.flush(recorder).catch((error: unknown) => this.deps.logger.warn({ err: error, experiment: recorder.id }, 'flag experiment flush failed'));
      // The instance that started it may be gone: any instance ends an experiment past its end.
      this.get(recorder.id).catch(() => {});
    }
  }

  private async flush(recorder: Recorder): Promise<void> {
    if (!recorder.dirty) return;
    recorder.dirty = false;
    for (const cohort of ['on', 'off'] as const) {
      await this.deps.db.query(
        `INSERT INTO feature_flag_experiment_samples (experiment_id, instance_id, cohort, histogram) VALUES ($1, $2, $3, $4)
         ON CONFLICT (experiment_id, instance_id, cohort) DO UPDATE SET histogram = $4, updated_at = now()`,
        [recorder.id, this.deps.instanceId, cohort, encodeHistogram(recorder[cohort])],
      );
    }
  }
}

function experimentOf(row: Row): Experiment {
  return {
    id: Number(row.id),
    flag: row.flag,
    percent: Number(row.percent),
    status: row.status,
    startedBy: row.started_by,
    reason: row.reason,
    startedAt: new Date(row.started_at).toISOString(),
    endsAt: new Date(row.ends_at).toISOString(),
    endedAt: row.ended_at && new Date(row.ended_at).toISOString(),
    previous: row.previous,
    result: row.result,
  };
}
