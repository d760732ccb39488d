/**
 * Users' strategies (configuration as JSONB) and their last computed performance. Every read and
 * write is scoped by the owner: another user's strategy is simply not found.
 */
import type { Database } from '../db/database.ts';
import { NotFoundError } from '../kernel/errors.ts';
import type { PerformanceMetrics } from './metrics.ts';
import type { BarInterval } from './series.ts';

export interface StrategyConfig {
  symbols: string[];
  interval: BarInterval;
  /** Calendar days of history the performance is computed over (up to now). */
  lookbackDays: number;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
}

export interface StrategyInput {
  name: string;
  type: string;
  config: StrategyConfig;
}

export interface StrategyRecord extends StrategyInput {
  id: number;
  /** The owner: a queued recomputation writes the owner's cached copy (write-through). */
  userId: number;
  createdAt: number;
  updatedAt: number;
}

export interface PerformanceRecord {
  strategyId: number;
  computedAt: number;
  window: { from: number | null; to: number | null; bars: number; symbols: number };
  /** Null when the computation failed (`error` says why, e.g. no bars in the window yet). */
  metrics: PerformanceMetrics | null;
  /** Equity curve, downsampled. */
  equity: { ts: number[]; value: number[] };
  error: string | null;
}

export type StrategyWithPerformance = StrategyRecord & { performance: PerformanceRecord | null };

interface StrategyRow {
  id: number;
  user_id: number;
  name: string;
  type: string;
  config: StrategyConfig;
  created_at: Date;
  updated_at: Date;
}

interface PerformanceRow {
  strategy_id: number;
  computed_at: Date;
  data_from: Date | null;
  data_to: Date | null;
  metrics: PerformanceMetrics | Record<string, never>;
  equity: { ts: number[]; value: number[] } | [];
  bars: number;
  symbols: number;
  error: string | null;
}

/** On the bus (`strategy.<id>`): a strategy's new performance, or `null` when it was deleted. */
export interface StrategyEvent {
  userId: number;
  performance: PerformanceRecord | null;
}

const STRATEGY_COLUMNS = 's.id, s.user_id, s.name, s.type, s.config, s.created_at, s.updated_at';
const PERFORMANCE_COLUMNS = 'p.strategy_id, p.computed_at, p.data_from, p.data_to, p.metrics, p.equity, p.bars, p.symbols, p.error';

function toStrategy(row: StrategyRow): StrategyRecord {
  return { id: row.id, userId: Number(row.user_id), name: row.name, type: row.type, config: row.config, createdAt: row.created_at.getTime(), updatedAt: row.updated_at.getTime() };
}

function toPerformance(row: PerformanceRow): PerformanceRecord {
  return {
    strategyId: row.strategy_id,
    computedAt: row.computed_at.getTime(),
    window: { from: row.data_from?.getTime() ?? null, to: row.data_to?.getTime() ?? null, bars: row.bars, symbols: row.symbols },
    metrics: row.error === null ? (row.metrics as PerformanceMetrics) : null,
    equity: Array.isArray(row.equity) ? { ts: [], value: [] } : row.equity,
    error: row.error,
  };
}

const notFound = (id: number) => new NotFoundError(`strategy ${id} not found`);

export class StrategyStore {
  constructor(private readonly db: Database) {}

  async create(userId: number, input: StrategyInput): Promise<StrategyRecord> {
    const { rows } = await this.db.query<StrategyRow>(
      `INSERT INTO strategies AS s (user_id, name, type, config) VALUES ($1, $2, $3, $4) RETURNING ${STRATEGY_COLUMNS}`,
      [userId, input.name, input.type, JSON.stringify(input.config)],
    );
    return toStrategy(rows[0]!);
  }

  async update(userId: number, id: number, input: StrategyInput): Promise<StrategyRecord> {
    const { rows } = await this.db.query<StrategyRow>(
      `UPDATE strategies AS s SET name = $3, type = $4, config = $5, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ${STRATEGY_COLUMNS}`,
      [id, userId, input.name, input.type, JSON.stringify(input.config)],
    );
    if (!rows[0]) throw notFound(id);
    return toStrategy(rows[0]);
  }

  async delete(userId: number, id: number): Promise<void> {
    const { rows } = await this.db.query('DELETE FROM strategies WHERE id = $1 AND user_id = $2 RETURNING id', [id, userId]);
    if (rows.length === 0) throw notFound(id);
  }

  async get(userId: number, id: number): Promise<StrategyWithPerformance> {
    const { rows } = await this.db.query<StrategyRow & Partial<PerformanceRow>>(
      `SELECT ${STRATEGY_COLUMNS}, ${PERFORMANCE_COLUMNS} FROM strategies s LEFT JOIN strategy_performance p ON p.strategy_id = s.id
        WHERE s.id = $1 AND s.user_id = $2`,
      [id, userId],
    );
    if (!rows[0]) throw notFound(id);
    return withPerformance(rows[0]);
  }

  /** The owner's strategies, most recently changed first (the `strategies_user` index order). */
  async list(userId: number, limit: number): Promise<StrategyWithPerformance[]> {
    const { rows } = await this.db.query<StrategyRow & Partial<PerformanceRow>>(
      `SELECT ${STRATEGY_COLUMNS}, ${PERFORMANCE_COLUMNS} FROM strategies s LEFT JOIN strategy_performance p ON p.strategy_id = s.id
        WHERE s.user_id = $1 ORDER BY s.updated_at DESC, s.id DESC LIMIT $2`,
      [userId, limit],
    );
    return rows.map(withPerformance);
  }

  /** Any owner's strategy (queued performance tasks run without a caller). */
  async byId(id: number): Promise<StrategyRecord | undefined> {
    const { rows } = await this.db.query<StrategyRow>(`SELECT ${STRATEGY_COLUMNS} FROM strategies s WHERE s.id = $1`, [id]);
    return rows[0] ? toStrategy(rows[0]) : undefined;
  }

  /** Strategies trading any of `symbols` (containment on config, served by the jsonb_path_ops GIN index). */
  async idsTrading(symbols: readonly string[]): Promise<number[]> {
    if (symbols.length === 0) return [];
    const probes = symbols.map((symbol) => JSON.stringify({ symbols: [symbol] }));
    const { rows } = await this.db.query<{ id: number }>('SELECT id FROM strategies WHERE config @> ANY($1::jsonb[])', [probes]);
    return rows.map((r) => r.id);
  }

  async performance(userId: number, id: number): Promise<PerformanceRecord | null> {
    return (await this.get(userId, id)).performance;
  }

  /** Upserts the computed performance; a strategy deleted meanwhile is skipped (no row to reference). */
  async savePerformance(p: PerformanceRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO strategy_performance (strategy_id, computed_at, data_from, data_to, metrics, equity, bars, symbols, error)
       SELECT $1::bigint, $2::timestamptz, $3::timestamptz, $4::timestamptz, $5::jsonb, $6::jsonb, $7::integer, $8::integer, $9::text
        WHERE EXISTS (SELECT 1 FROM strategies WHERE id = $1::bigint)
       ON CONFLICT (strategy_id) DO UPDATE SET computed_at = excluded.computed_at, data_from = excluded.data_from, data_to = excluded.data_to,
         metrics = excluded.metrics, equity = excluded.equity, bars = excluded.bars, symbols = excluded.symbols, error = excluded.error`,
      [
        p.strategyId,
        new Date(p.computedAt),
        p.window.from === null ? null : new Date(p.window.from),
        p.window.to === null ? null : new Date(p.window.to),
        JSON.stringify(p.metrics ?? {}),
        JSON.stringify(p.equity),
        p.window.bars,
        p.window.symbols,
        p.error,
      ],
    );
  }
}

function withPerformance(row: StrategyRow & Partial<PerformanceRow>): StrategyWithPerformance {
  return { ...toStrategy(row), performance: row.strategy_id == null ? null : toPerformance(row as PerformanceRow) };
}
