/**
 * The database tier under L1 and L2 (table cache_computed_results, migration 006): for classes
 * whose loader is expensive (policy `persist`), a result outlives restarts and evictions until it
 * expires or an event invalidates it. Read on an L1/L2 miss before the loader runs; written after it.
 */
import type { Queryable } from '../db/database.ts';
import type { DataClass } from './policies.ts';

export interface ComputedResult {
  value: unknown;
  /** epoch ms */
  computedAt: number;
  /** epoch ms */
  expiresAt: number;
}

export class ComputedResults {
  constructor(private readonly db: Queryable) {}

  async read(cls: DataClass, key: string, now: number): Promise<ComputedResult | undefined> {
    const { rows } = await this.db.query<{ value: unknown; computed_at: Date; expires_at: Date }>(
      'SELECT value, computed_at, expires_at FROM cache_computed_results WHERE class = $1 AND key = $2 AND expires_at > $3',
      [cls, key, new Date(now)],
    );
    const row = rows[0];
    return row && { value: row.value, computedAt: row.computed_at.getTime(), expiresAt: row.expires_at.getTime() };
  }

  async write(cls: DataClass, key: string, value: unknown, tags: readonly string[], computedAt: number, expiresAt: number): Promise<void> {
    await this.db.query(
      `INSERT INTO cache_computed_results (class, key, value, tags, computed_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (class, key) DO UPDATE SET value = EXCLUDED.value, tags = EXCLUDED.tags, computed_at = EXCLUDED.computed_at, expires_at = EXCLUDED.expires_at`,
      [cls, key, JSON.stringify(value), tags, new Date(computedAt), new Date(expiresAt)],
    );
  }

  async deleteKey(cls: DataClass, key: string): Promise<void> {
    await this.db.query('DELETE FROM cache_computed_results WHERE class = $1 AND key = $2', [cls, key]);
  }

  async deleteTag(classes: readonly DataClass[], tag: string): Promise<void> {
    await this.db.query('DELETE FROM cache_computed_results WHERE class = ANY($1) AND tags @> ARRAY[$2]::text[]', [classes, tag]);
  }

  async deleteClass(cls: DataClass): Promise<void> {
    await this.db.query('DELETE FROM cache_computed_results WHERE class = $1', [cls]);
  }

  /** Drops expired rows; returns how many. */
  async purgeExpired(now: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('WITH gone AS (DELETE FROM cache_computed_results WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [new Date(now)]);
    return rows[0]?.n ?? 0;
  }
}
