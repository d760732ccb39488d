/**
 * The database advisor: where the database's time goes (in-app statistics per statement joined with
 * pg_stat_statements on a server), the captured plans of slow statements with their costly nodes, index
 * suggestions tested against the planner, and indexes that cost without paying.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { NotFoundError } from '../kernel/errors.ts';
import type { StatementStats } from '../observability/database.ts';
import { duplicateIndexes, unusedIndexes } from './index-health.ts';
import type { IndexAdvisor } from './index-advisor.ts';
import { readServerStatements, type ServerStatement } from './pg-stat-statements.ts';
import type { PlanSampler } from './plans.ts';

export const statementId = (statement: string) => createHash('sha1').update(statement).digest('hex').slice(0, 12);

export interface AdvisorDeps {
  db: Database;
  plans: PlanSampler;
  indexes: IndexAdvisor;
  /** In-app statistics by total time (DatabaseTelemetry). */
  statementStats: (limit: number) => StatementStats[];
}

export class DatabaseAdvisor {
  constructor(private readonly deps: AdvisorDeps) {}

  get indexes(): IndexAdvisor {
    return this.deps.indexes;
  }

  get plans(): PlanSampler {
    return this.deps.plans;
  }

  /** The top statements by total time from both sources, joined by fingerprint. */
  async statements(limit = 20) {
    const server = await readServerStatements(this.deps.db, limit * 2);
    const byStatement = new Map<string, ServerStatement>(server.statements.map((s) => [s.statement, s]));
    const inApp = new Set(this.deps.statementStats(1000).map((s) => s.statement));
    return {
      sources: { inApp: true, pgStatStatements: server.status === 'ok' ? 'ok' : server.reason },
      statements: this.deps.statementStats(limit).map((s) => ({
        id: statementId(s.statement),
        ...s,
        server: byStatement.get(s.statement) ?? null,
        plans: this.deps.plans.plansOf(s.statement).length,
      })),
      // What the server saw that this instance did not issue (other instances, operators, migrations).
      serverOnly: server.statements.filter((s) => !inApp.has(s.statement)).slice(0, limit),
    };
  }

  /** One statement: its statistics, its last plans with the costly nodes, its index suggestions. */
  async statement(id: string) {
    const stats = this.deps.statementStats(1000).find((s) => statementId(s.statement) === id);
    if (!stats) throw new NotFoundError(`no statement ${id} in this instance's statistics`);
    return {
      id,
      ...stats,
      plans: this.deps.plans.plansOf(stats.statement),
      suggestions: this.deps.indexes.list().filter((s) => s.statement === stats.statement),
    };
  }

  async indexHealth() {
    const [unused, duplicate] = await Promise.all([unusedIndexes(this.deps.db), duplicateIndexes(this.deps.db)]);
    return { unused, duplicate };
  }
}
