/** The `load_test_runs` table: one row per run started through the admin API. */
import type { Database } from '../../db/database.ts';
import type { RunResult } from '../results.ts';

export type RunStatus = 'running' | 'passed' | 'failed' | 'cancelled' | 'error';

/** The headline figures of a finished run, kept beside the full result so history pages stay small. */
export interface RunSummary {
  exitCode: number;
  durationMs: number;
  requests: number;
  rps: number;
  p95: number;
  p99: number;
  errorRate: number;
  orderAckP99: number | null;
  thresholds: Array<{ key: string; source: string; passed: boolean; observed: number | null }>;
  aborted?: RunResult['aborted'];
}

export interface RunRow {
  id: number;
  instanceId: string;
  scenario: string;
  target: string;
  options: Record<string, unknown>;
  status: RunStatus;
  createdBy: number | null;
  startedAt: string;
  endedAt: string | null;
  summary: RunSummary | null;
  error: string | null;
}

const COLUMNS = `id, instance_id AS "instanceId", scenario, target, options, status, created_by AS "createdBy",
  started_at AS "startedAt", ended_at AS "endedAt", summary, error`;

/** Timestamps come back as Date (pg) or string (PGlite): the API speaks ISO strings. */
function normalize(row: RunRow): RunRow {
  const iso = (v: unknown): string | null => (v === null ? null : new Date(v as string).toISOString());
  return { ...row, startedAt: iso(row.startedAt) as string, endedAt: iso(row.endedAt) };
}

export class RunStore {
  constructor(private readonly db: Database) {}

  async create(run: { instanceId: string; scenario: string; target: string; options: Record<string, unknown>; createdBy: number | null }): Promise<RunRow> {
    const { rows } = await this.db.query<RunRow>(
      `INSERT INTO load_test_runs (instance_id, scenario, target, options, status, created_by) VALUES ($1, $2, $3, $4, 'running', $5) RETURNING ${COLUMNS}`,
      [run.instanceId, run.scenario, run.target, JSON.stringify(run.options), run.createdBy],
    );
    return normalize(rows[0] as RunRow);
  }

  async finish(id: number, outcome: { status: Exclude<RunStatus, 'running'>; summary?: RunSummary; result?: RunResult; error?: string }): Promise<void> {
    await this.db.query(
      'UPDATE load_test_runs SET status = $2, ended_at = now(), summary = $3, result = $4, error = $5 WHERE id = $1',
      [id, outcome.status, outcome.summary ? JSON.stringify(outcome.summary) : null, outcome.result ? JSON.stringify(outcome.result) : null, outcome.error ?? null],
    );
  }

  /**
   * Runs left 'running' by a process that died cannot still be running once they are older than the
   * longest allowed run (on the embedded engine, whose directory one process holds, none can).
   * Marks them 'error' so the history does not show ghosts; returns how many.
   */
  async abandonStale(olderThanMs: number): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `UPDATE load_test_runs SET status = 'error', ended_at = now(), error = 'the instance running it stopped before it ended'
        WHERE status = 'running' AND started_at <= now() - make_interval(secs => $1::float8 / 1000) RETURNING id`,
      [olderThanMs],
    );
    return rows.length;
  }

  async get(id: number): Promise<RunRow | undefined> {
    const { rows } = await this.db.query<RunRow>(`SELECT ${COLUMNS} FROM load_test_runs WHERE id = $1`, [id]);
    return rows[0] && normalize(rows[0]);
  }

  async result(id: number): Promise<RunResult | undefined> {
    const { rows } = await this.db.query<{ result: RunResult | null }>('SELECT result FROM load_test_runs WHERE id = $1', [id]);
    return rows[0]?.result ?? undefined;
  }

  /** Newest first; `before` is the cursor (the last id of the previous page). */
  async history(limit: number, before: number | undefined): Promise<RunRow[]> {
    const { rows } = await this.db.query<RunRow>(
      `SELECT ${COLUMNS} FROM load_test_runs WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map(normalize);
  }
}
