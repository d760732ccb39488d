/**
 * Scaling state in the database (migrations 008 and 019): the configuration, the autoscaler's latest
 * status, manual requests waiting for it, the history of events, and the demand per minute that
 * predictive scaling reads back. The cluster's autoscaler writes status
 * and events and takes requests; every instance's API reads them, so any instance can answer.
 */
import type { InstanceState } from '../cluster/local-cluster.ts';
import type { Queryable } from '../db/database.ts';
import { DEFAULT_SCALING_CONFIG, type Decision, type MetricValues, type ScalingConfig } from './hpa.ts';
import type { DayDemand } from './predictive.ts';

export interface InstanceStatus {
  name: string;
  url: string;
  state: InstanceState;
  /** The instance's own metrics at the last evaluation (null while starting, or when it did not answer). */
  metrics: MetricValues | null;
  shardsHeld: number | null;
  feedLeader: boolean | null;
}

export interface ClusterScalingStatus {
  current: number;
  desired: number;
  reason: string;
  /** Averages over the ready instances: what the decision saw. */
  metrics: MetricValues;
  instances: InstanceStatus[];
  decision: Decision | null;
}

export type ScalingTrigger = 'metrics' | 'manual';

export interface ScalingEvent {
  id: number;
  at: string;
  from: number;
  to: number;
  trigger: ScalingTrigger;
  reason: string;
  metrics: MetricValues;
  decision: Decision | null;
  durationMs: number;
}

export interface ManualRequest {
  count: number;
  reason: string;
  requestedBy: string;
}

export class ScalingStore {
  constructor(private readonly db: Queryable) {}

  async config(): Promise<ScalingConfig> {
    const { rows } = await this.db.query<{ config: ScalingConfig }>('SELECT config FROM scaling_config WHERE id = 1');
    return rows[0] ? { ...DEFAULT_SCALING_CONFIG, ...rows[0].config } : DEFAULT_SCALING_CONFIG;
  }

  async saveConfig(config: ScalingConfig): Promise<void> {
    await this.db.query(
      'INSERT INTO scaling_config (id, config, updated_at) VALUES (1, $1, now()) ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = now()',
      [JSON.stringify(config)],
    );
  }

  async writeStatus(status: ClusterScalingStatus, intervalMs: number): Promise<void> {
    await this.db.query(
      'INSERT INTO scaling_status (id, status, interval_ms, updated_at) VALUES (1, $1, $2, now()) ON CONFLICT (id) DO UPDATE SET status = excluded.status, interval_ms = excluded.interval_ms, updated_at = now()',
      [JSON.stringify(status), intervalMs],
    );
  }

  async clearStatus(): Promise<void> {
    await this.db.query('DELETE FROM scaling_status');
  }

  /**
   * The autoscaler's status if it reported within three intervals (a missed evaluation or two is
   * normal while it waits for an instance), else undefined: no autoscaling cluster runs.
   */
  async status(): Promise<(ClusterScalingStatus & { ageMs: number }) | undefined> {
    const { rows } = await this.db.query<{ status: ClusterScalingStatus; age_ms: number; interval_ms: number }>(
      'SELECT status, interval_ms, (extract(epoch FROM now() - updated_at) * 1000)::float8 AS age_ms FROM scaling_status WHERE id = 1',
    );
    const row = rows[0];
    if (!row || row.age_ms > 3 * row.interval_ms + 5_000) return undefined;
    return { ...row.status, ageMs: Math.round(row.age_ms) };
  }

  async requestManual(request: ManualRequest): Promise<void> {
    await this.db.query('INSERT INTO scaling_requests (count, reason, requested_by) VALUES ($1, $2, $3)', [request.count, request.reason, request.requestedBy]);
  }

  /** The latest manual request (earlier ones are superseded), removing them all. */
  async takeManual(): Promise<ManualRequest | undefined> {
    const { rows } = await this.db.query<{ id: number; count: number; reason: string; requested_by: string }>('DELETE FROM scaling_requests RETURNING id, count, reason, requested_by');
    const latest = rows.sort((a, b) => Number(b.id) - Number(a.id))[0];
    return latest && { count: latest.count, reason: latest.reason, requestedBy: latest.requested_by };
  }

  async recordEvent(event: Omit<ScalingEvent, 'id' | 'at'>): Promise<void> {
    await this.db.query(
      'INSERT INTO scaling_events (from_count, to_count, trigger, reason, metrics, decision, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [event.from, event.to, event.trigger, event.reason, JSON.stringify(event.metrics), event.decision && JSON.stringify(event.decision), Math.round(event.durationMs)],
    );
  }

  /** The minute's demand: the highest recommendation recorded for it wins. */
  async recordDemand(minute: number, needed: number): Promise<void> {
    await this.db.query(
      'INSERT INTO scaling_demand (minute, needed) VALUES ($1, $2) ON CONFLICT (minute) DO UPDATE SET needed = GREATEST(scaling_demand.needed, excluded.needed)',
      [new Date(minute), needed],
    );
  }

  /** Each of the previous `days` days' highest demand between the same times of day as `from` and `to` (days without a record are absent). */
  async dayDemand(from: number, to: number, days: number): Promise<DayDemand[]> {
    const { rows } = await this.db.query<{ days_ago: number; needed: number }>(
      `SELECT d AS days_ago, max(s.needed)::int AS needed
         FROM generate_series(1, $3::int) AS d
         JOIN scaling_demand s ON s.minute >= $1::timestamptz - d * interval '1 day' AND s.minute <= $2::timestamptz - d * interval '1 day'
        GROUP BY d ORDER BY d`,
      [new Date(from), new Date(to), days],
    );
    return rows.map((r) => ({ daysAgo: Number(r.days_ago), needed: Number(r.needed) }));
  }

  async history(limit: number): Promise<ScalingEvent[]> {
    const { rows } = await this.db.query<{
      id: number;
      at: Date;
      from_count: number;
      to_count: number;
      trigger: ScalingTrigger;
      reason: string;
      metrics: MetricValues;
      decision: Decision | null;
      duration_ms: number;
    }>('SELECT * FROM scaling_events ORDER BY at DESC, id DESC LIMIT $1', [limit]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at).toISOString(),
      from: r.from_count,
      to: r.to_count,
      trigger: r.trigger,
      reason: r.reason,
      metrics: r.metrics,
      decision: r.decision,
      durationMs: r.duration_ms,
    }));
  }
}
