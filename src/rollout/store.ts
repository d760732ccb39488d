/**
 * Rollouts in the database (migration 014). The API (any instance) creates rollouts and asks for
 * promote or abort; the controller in the `tachyon cluster` process takes pending ones, records its
 * progress and reports a heartbeat. One active rollout at a time (a unique partial index).
 */
import type { Queryable } from '../db/database.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import type { ControllerInfo, Rollout, RolloutSpec, RolloutStatus, RolloutStrategy } from './types.ts';

interface Row {
  id: number | string;
  strategy: RolloutStrategy;
  status: RolloutStatus;
  spec: RolloutSpec;
  requested_by: string;
  action: 'promote' | 'abort' | null;
  action_by: string | null;
  share: number;
  steps: Rollout['steps'];
  instances: Rollout['instances'];
  reason: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  finished_at: Date | string | null;
}

const iso = (d: Date | string) => new Date(d).toISOString();

function toRollout(r: Row): Rollout {
  return {
    id: Number(r.id),
    strategy: r.strategy,
    status: r.status,
    spec: r.spec,
    requestedBy: r.requested_by,
    action: r.action,
    actionBy: r.action_by,
    share: r.share,
    steps: r.steps,
    instances: r.instances,
    reason: r.reason,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: r.finished_at === null ? null : iso(r.finished_at),
  };
}

export type RolloutUpdate = Partial<Pick<Rollout, 'status' | 'share' | 'steps' | 'instances' | 'reason'>> & { finished?: boolean };

export class RolloutStore {
  constructor(private readonly db: Queryable) {}

  async create(strategy: RolloutStrategy, spec: RolloutSpec, requestedBy: string): Promise<Rollout> {
    try {
      const { rows } = await this.db.query<Row>("INSERT INTO rollouts (strategy, status, spec, requested_by) VALUES ($1, 'pending', $2, $3) RETURNING *", [strategy, JSON.stringify(spec), requestedBy]);
      return toRollout(rows[0]!);
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      const running = await this.active();
      throw new ConflictError(`rollout ${running?.id ?? '?'} is ${running?.status ?? 'running'}: promote or abort it first`, { active: running?.id });
    }
  }

  async get(id: number): Promise<Rollout> {
    const { rows } = await this.db.query<Row>('SELECT * FROM rollouts WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundError(`no rollout ${id}`);
    return toRollout(rows[0]);
  }

  async active(): Promise<Rollout | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM rollouts WHERE active');
    return rows[0] && toRollout(rows[0]);
  }

  async list(limit: number): Promise<Rollout[]> {
    const { rows } = await this.db.query<Row>('SELECT * FROM rollouts ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map(toRollout);
  }

  /** Asks the controller to promote or abort an active rollout. */
  async requestAction(id: number, action: 'promote' | 'abort', by: string): Promise<Rollout> {
    const { rows } = await this.db.query<Row>('UPDATE rollouts SET action = $2, action_by = $3, updated_at = now() WHERE id = $1 AND active RETURNING *', [id, action, by]);
    if (rows[0]) return toRollout(rows[0]);
    const rollout = await this.get(id);
    throw new ConflictError(`rollout ${id} has ended (${rollout.status}): nothing to ${action}`);
  }

  /** The pending action of a rollout, cleared as it is taken. */
  async takeAction(id: number): Promise<{ action: 'promote' | 'abort'; by: string } | undefined> {
    const { rows } = await this.db.query<{ action: 'promote' | 'abort'; by: string }>(
      'UPDATE rollouts r SET action = NULL, updated_at = now() FROM (SELECT id, action, action_by FROM rollouts WHERE id = $1 FOR UPDATE) old WHERE r.id = old.id AND old.action IS NOT NULL RETURNING old.action AS action, old.action_by AS by',
      [id],
    );
    return rows[0];
  }

  async update(id: number, update: RolloutUpdate): Promise<void> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (update.status !== undefined) set('status', update.status);
    if (update.share !== undefined) set('share', update.share);
    if (update.steps !== undefined) set('steps', JSON.stringify(update.steps));
    if (update.instances !== undefined) set('instances', JSON.stringify(update.instances));
    if (update.reason !== undefined) set('reason', update.reason);
    if (update.finished) sets.push('active = false', 'finished_at = now()');
    await this.db.query(`UPDATE rollouts SET ${sets.join(', ')} WHERE id = $1`, params);
  }

  /** Rollouts left active by a controller that is gone (its instances went with its cluster). */
  async failOrphans(reason: string): Promise<number> {
    const { rows } = await this.db.query("UPDATE rollouts SET status = 'failed', reason = $1, active = false, finished_at = now(), updated_at = now() WHERE active RETURNING id", [reason]);
    return rows.length;
  }

  async heartbeat(info: ControllerInfo, intervalMs: number): Promise<void> {
    await this.db.query(
      'INSERT INTO rollout_controller (id, cluster, interval_ms, updated_at) VALUES (1, $1, $2, now()) ON CONFLICT (id) DO UPDATE SET cluster = excluded.cluster, interval_ms = excluded.interval_ms, updated_at = now()',
      [JSON.stringify(info), intervalMs],
    );
  }

  async clearHeartbeat(): Promise<void> {
    await this.db.query('DELETE FROM rollout_controller');
  }

  /** The controller's view if it reported recently, else undefined: no cluster can run a rollout. */
  async controller(): Promise<ControllerInfo | undefined> {
    const { rows } = await this.db.query<{ cluster: ControllerInfo; age_ms: number; interval_ms: number }>(
      'SELECT cluster, interval_ms, (extract(epoch FROM now() - updated_at) * 1000)::float8 AS age_ms FROM rollout_controller WHERE id = 1',
    );
    const row = rows[0];
    return row && row.age_ms <= 3 * row.interval_ms + 5_000 ? row.cluster : undefined;
  }
}
