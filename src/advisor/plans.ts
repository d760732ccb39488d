/**
 * Execution plans of slow statements. A statement slower than the threshold gets its plan captured
 * with EXPLAIN (ANALYZE, BUFFERS) on the same parameters (a write: EXPLAIN without ANALYZE, never
 * executed again), inside a transaction that is always rolled back, at most once per `minIntervalMs` overall and once per
 * `perStatementMs` per statement. The explain runs on a transaction's connection, which the query
 * observers do not see, so sampling never samples itself. The costly nodes are named: sequential
 * scans that filter out most rows, sorts that spill to disk, row estimates far from the actual rows.
 */
import type { Logger } from 'pino';
import type { Database, Queryable, QueryObservation } from '../db/database.ts';
import { fingerprint } from '../observability/statement.ts';

export interface PlanSamplingConfig {
  /** Statements slower than this get a plan captured. */
  thresholdMs: number;
  /** At most one capture per this period, across all statements. */
  minIntervalMs: number;
  /** At most one capture per statement per this period. */
  perStatementMs: number;
  /** Plans kept per statement. */
  keep: number;
}

/** A node of PostgreSQL's JSON plan (the fields the highlights read). */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Actual Total Time'?: number;
  'Rows Removed by Filter'?: number;
  Filter?: string;
  'Sort Key'?: string[];
  'Sort Method'?: string;
  'Sort Space Type'?: string;
  Plans?: PlanNode[];
}

export interface Highlight {
  node: string;
  relation: string | null;
  kind: 'seq-scan-filter' | 'sort-spill' | 'misestimate';
  detail: string;
}

export interface CapturedPlan {
  at: string;
  /** The duration that triggered the capture. */
  observedMs: number;
  executionMs: number | null;
  totalCost: number | null;
  plan: PlanNode;
  highlights: Highlight[];
}

export interface SampledStatement {
  fingerprint: string;
  sql: string;
  params: readonly unknown[] | undefined;
}

export function walk(node: PlanNode, visit: (node: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

/** The nodes an operator should look at first, with why. */
export function highlights(plan: PlanNode): Highlight[] {
  const out: Highlight[] = [];
  walk(plan, (n) => {
    const relation = n['Relation Name'] ?? null;
    const actual = (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1);
    const removed = (n['Rows Removed by Filter'] ?? 0) * (n['Actual Loops'] ?? 1);
    if (n['Node Type'] === 'Seq Scan' && n.Filter && removed >= 1000 && removed > 4 * actual) {
      out.push({ node: n['Node Type'], relation, kind: 'seq-scan-filter', detail: `read ${actual + removed} rows to keep ${actual} (filter ${n.Filter})` });
    }
    if (n['Sort Space Type'] === 'Disk' || /external/i.test(n['Sort Method'] ?? '')) {
      out.push({ node: n['Node Type'], relation, kind: 'sort-spill', detail: `sort spilled to disk (${n['Sort Method']}) on ${(n['Sort Key'] ?? []).join(', ')}` });
    }
    const planned = n['Plan Rows'];
    if (planned !== undefined && n['Actual Rows'] !== undefined) {
      const ratio = (n['Actual Rows'] + 1) / (planned + 1);
      if ((ratio > 10 || ratio < 0.1) && Math.max(n['Actual Rows'], planned) >= 100) {
        out.push({ node: n['Node Type'], relation, kind: 'misestimate', detail: `planned ${planned} rows, got ${n['Actual Rows']}: run ANALYZE${relation ? ` ${relation}` : ''} or add extended statistics` });
      }
    }
  });
  return out;
}

class Rollback extends Error {
  constructor(readonly result: unknown) {
    super('rollback');
  }
}

/**
 * Runs `EXPLAIN (options) sql` in a transaction that is rolled back, after `setup` (a hypothetical or
 * scratch index) on the same connection, and returns the JSON plan.
 */
export async function explain(
  db: Database,
  sql: string,
  params: readonly unknown[] | undefined,
  options: string,
  setup?: (tx: Queryable) => Promise<void>,
): Promise<{ Plan: PlanNode; 'Execution Time'?: number }> {
  try {
    await db.transaction(async (tx) => {
      await setup?.(tx);
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (${options}, FORMAT JSON) ${sql}`, params);
      throw new Rollback(rows[0]!['QUERY PLAN']);
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
    // pg parses the json column; PGlite too; a string is tolerated in case a driver does not.
    const value = typeof error.result === 'string' ? JSON.parse(error.result) : error.result;
    return (value as Array<{ Plan: PlanNode; 'Execution Time'?: number }>)[0]!;
  }
  throw new Error('unreachable: the explain transaction always rolls back');
}

/** Statements that can be explained (not utility statements, transaction control, the planner's own). */
const EXPLAINABLE = /^\s*(with|select|insert|update|delete)\b/i;
/**
 * Writes are explained without ANALYZE: executing one again, even rolled back, takes its row locks (the
 * journal's batch would block the engine's next commit on the same orders) and doubles its work.
 */
const WRITES = /\b(insert\s+into|update\s+\w+\s+set|delete\s+from)\b/i;

export class PlanSampler {
  private readonly plans = new Map<string, CapturedPlan[]>();
  private readonly samples = new Map<string, SampledStatement>();
  private readonly lastCapture = new Map<string, number>();
  private lastAny = -Infinity;
  private capturing: Promise<unknown> | undefined;
  private readonly unobserve: () => void;

  constructor(
    private readonly db: Database,
    private readonly config: PlanSamplingConfig,
    private readonly logger: Logger,
    private readonly enabled: () => boolean,
  ) {
    this.unobserve = db.observe((o) => this.onQuery(o));
  }

  private onQuery(o: QueryObservation): void {
    if (!o.ok || o.durationMs < this.config.thresholdMs || !this.enabled() || this.capturing) return;
    const now = performance.now();
    if (now - this.lastAny < this.config.minIntervalMs || !EXPLAINABLE.test(o.sql)) return;
    const name = fingerprint(o.sql);
    if (now - (this.lastCapture.get(name) ?? -Infinity) < this.config.perStatementMs) return;
    this.lastAny = now;
    this.lastCapture.set(name, now);
    const sample = { fingerprint: name, sql: o.sql, params: o.params };
    this.samples.set(name, sample);
    this.capturing = this.capture(sample, o.durationMs).finally(() => (this.capturing = undefined));
  }

  /** Captures a plan now (also used by the advisor to re-measure after applying an index). */
  async capture(sample: SampledStatement, observedMs = 0): Promise<CapturedPlan | undefined> {
    try {
      const result = await explain(this.db, sample.sql, sample.params, WRITES.test(sample.sql) ? 'COSTS' : 'ANALYZE, BUFFERS');
      const captured: CapturedPlan = {
        at: new Date().toISOString(),
        observedMs,
        executionMs: result['Execution Time'] ?? null,
        totalCost: result.Plan['Total Cost'] ?? null,
        plan: result.Plan,
        highlights: highlights(result.Plan),
      };
      const list = this.plans.get(sample.fingerprint) ?? [];
      list.unshift(captured);
      list.length = Math.min(list.length, this.config.keep);
      this.plans.set(sample.fingerprint, list);
      return captured;
    } catch (error) {
      this.logger.debug({ err: error, statement: sample.fingerprint }, 'plan capture failed');
      return undefined;
    }
  }

  /** Waits for a capture in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.capturing;
  }

  plansOf(statement: string): CapturedPlan[] {
    return this.plans.get(statement) ?? [];
  }

  /** The last sampled call of a statement (its SQL and parameters), for re-explaining it. */
  sampleOf(statement: string): SampledStatement | undefined {
    return this.samples.get(statement);
  }

  sampled(): SampledStatement[] {
    return [...this.samples.values()];
  }

  close(): void {
    this.unobserve();
  }
}
