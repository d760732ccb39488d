/**
 * Which user created which queued task (`analysis_tasks`). The queue keeps status and results; this
 * is what scopes GET/DELETE /api/tasks/:id to the creator, on every instance sharing the database.
 */
import type { Database } from '../db/database.ts';
import { NotFoundError } from '../kernel/errors.ts';

/** Queues keep a finished task for a day at most (BullMQ) or the last 10,000 (in-process); owners a week. */
const PRUNE_SQL = "DELETE FROM analysis_tasks WHERE created_at < now() - interval '7 days'";
const PRUNE_EVERY = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TaskOwners {
  private recorded = 0;

  constructor(private readonly db: Database) {}

  async record(id: string, userId: number, type: string): Promise<void> {
    await this.db.query('INSERT INTO analysis_tasks (id, user_id, type) VALUES ($1, $2, $3)', [id, userId, type]);
    if (++this.recorded % PRUNE_EVERY === 0) await this.db.query(PRUNE_SQL);
  }

  /** Throws NotFoundError unless `userId` created task `id` (malformed ids are simply not found). */
  async require(id: string, userId: number): Promise<void> {
    if (UUID.test(id)) {
      const { rows } = await this.db.query('SELECT 1 FROM analysis_tasks WHERE id = $1 AND user_id = $2', [id, userId]);
      if (rows.length > 0) return;
    }
    throw new NotFoundError(`task ${id} not found`);
  }
}
