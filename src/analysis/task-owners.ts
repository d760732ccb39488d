/**
 * Which user created which queued task (`analysis_tasks`). The queue keeps status and results; this
 * is what scopes GET/DELETE /api/tasks/:id to the creator, on every instance sharing the database.
 */
import type { Database } from '../db/database.ts';
import { NotFoundError } from '../kernel/errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TaskOwners {
  constructor(private readonly db: Database) {}

  async record(id: string, userId: number, type: string): Promise<void> {
    await this.db.query('INSERT INTO analysis_tasks (id, user_id, type) VALUES ($1, $2, $3)', [id, userId, type]);
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
