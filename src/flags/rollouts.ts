/**
 * Shared flag state: what an administrator sets (on, off, a percentage of accounts or requests) is
 * written to the database with an audit row (who, when, old, new, why) in one transaction, applied
 * here at once and announced on the bus (`flag.changed`, bridged through Redis); every other instance
 * then reads that flag's row and applies it, so all agree within the bridge's latency. Every start
 * loads the stored states, and a periodic reload repairs an announcement lost while Redis was away.
 */
import type { Logger } from 'pino';
import { normalizeRollout, type FeatureFlags, type FlagState, type Rollout, type RolloutMode } from '../config/flags.ts';
import type { Database, Queryable } from '../db/database.ts';
import type { MessageBus } from '../kernel/bus.ts';
import { NotFoundError } from '../kernel/errors.ts';

/** The bus payload: which flag changed (receivers read its row; the database is the truth). */
export interface FlagChange {
  name: string;
}

export interface FlagChangeRecord {
  id: number;
  name: string;
  at: string;
  actor: string;
  old: Rollout | null;
  new: Rollout | null;
  reason: string;
}

interface StateRow {
  name: string;
  mode: RolloutMode;
  percent: number;
  experiment: string | number | null;
}

/** A lost announcement (Redis away) is repaired by this periodic reload. */
export const FLAG_RELOAD_MS = 30_000;

const rolloutOf = (row: StateRow): Rollout => ({ mode: row.mode, percent: Number(row.percent), experiment: row.experiment === null ? null : Number(row.experiment) });

export class FlagRollouts {
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Names with a stored state at the last load (a row deleted elsewhere must be un-applied here). */
  private stored = new Set<string>();

  constructor(private readonly deps: { db: Database; bus: MessageBus; flags: FeatureFlags; logger: Logger }) {}

  /** Applies every stored state; subscribes to other instances' changes. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.deps.bus.subscribe('flag.changed', (change, _topic, remote) => {
      if (remote) this.reloadOne(change.name).catch((error: unknown) => this.deps.logger.warn({ err: error, flag: change.name }, 'flag reload failed'));
    });
    await this.reload();
  }

  /** The periodic safety reload (listen() starts it). */
  startPolling(intervalMs = FLAG_RELOAD_MS): void {
    this.timer ??= setInterval(() => this.reload().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'flag reload failed')), intervalMs).unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async reload(): Promise<void> {
    const { rows } = await this.deps.db.query<StateRow>('SELECT name, mode, percent, experiment FROM feature_flag_states');
    const now = new Set(rows.map((r) => r.name));
    for (const name of this.stored) if (!now.has(name)) this.deps.flags.apply(name, null);
    for (const row of rows) if (!sameRollout(this.deps.flags.get(row.name), rolloutOf(row))) this.deps.flags.apply(row.name, rolloutOf(row));
    this.stored = now;
  }

  private async reloadOne(name: string): Promise<void> {
    const { rows } = await this.deps.db.query<StateRow>('SELECT name, mode, percent, experiment FROM feature_flag_states WHERE name = $1', [name]);
    const row = rows[0];
    this.deps.flags.apply(name, row ? rolloutOf(row) : null);
    if (row) this.stored.add(name);
    else this.stored.delete(name);
  }

  /**
   * Sets a flag's shared state (null: remove it, back to configuration and default) and records who
   * did it and why. Applied here at once, on other instances through the bus.
   */
  async change(name: string, requested: Rollout | null, by: { actor: string; reason: string }): Promise<FlagState> {
    const rollout = requested && normalizeRollout(requested);
    if (!this.deps.flags.has(name)) throw new NotFoundError(`unknown feature flag ${name}`);
    const write = async (q: Queryable) => {
      const { rows } = await q.query<StateRow>('SELECT name, mode, percent, experiment FROM feature_flag_states WHERE name = $1 FOR UPDATE', [name]);
      const old = rows[0] ? rolloutOf(rows[0]) : null;
      if (rollout) {
        await q.query(
          `INSERT INTO feature_flag_states (name, mode, percent, experiment, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (name) DO UPDATE SET mode = $2, percent = $3, experiment = $4, updated_by = $5, updated_at = now()`,
          [name, rollout.mode, rollout.percent, rollout.experiment ?? null, by.actor],
        );
      } else {
        await q.query('DELETE FROM feature_flag_states WHERE name = $1', [name]);
      }
      await q.query('INSERT INTO feature_flag_changes (name, actor, old_state, new_state, reason) VALUES ($1, $2, $3, $4, $5)', [
        name,
        by.actor,
        old && JSON.stringify(old),
        rollout && JSON.stringify(rollout),
        by.reason,
      ]);
    };
    await this.deps.db.transaction(write);
    this.deps.flags.apply(name, rollout);
    if (rollout) this.stored.add(name);
    else this.stored.delete(name);
    this.deps.bus.publish('flag.changed', { name });
    return this.deps.flags.get(name)!;
  }

  /** The audit history, newest first (one flag's, or every flag's). */
  async history(options: { name?: string; limit?: number } = {}): Promise<FlagChangeRecord[]> {
    const { rows } = await this.deps.db.query<{ id: string; name: string; at: Date; actor: string; old_state: Rollout | null; new_state: Rollout | null; reason: string }>(
      `SELECT id, name, at, actor, old_state, new_state, reason FROM feature_flag_changes
        WHERE $1::text IS NULL OR name = $1 ORDER BY id DESC LIMIT $2`,
      [options.name ?? null, options.limit ?? 100],
    );
    return rows.map((r) => ({ id: Number(r.id), name: r.name, at: new Date(r.at).toISOString(), actor: r.actor, old: r.old_state, new: r.new_state, reason: r.reason }));
  }
}

function sameRollout(state: FlagState | undefined, rollout: Rollout): boolean {
  return state !== undefined && state.source === 'database' && state.rollout.mode === rollout.mode && state.rollout.percent === rollout.percent && (state.rollout.experiment ?? null) === (rollout.experiment ?? null);
}
