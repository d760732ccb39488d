/**
 * Index advice inside the product: for the statements where the database spends its time, propose
 * candidate indexes from their captured plans, test each by the planner's own cost with and without
 * it — a hypothetical index (HypoPG) on a server that has the extension, or a real index built inside
 * a transaction that is rolled back where it does not (PGlite, or a server without HypoPG; tables
 * above `scratchMaxRows` are then reported as not testable) — and keep the candidates that cut the
 * cost substantially, with their size and the table's write load. Applying one builds it
 * (CONCURRENTLY on a server) and measures the statement before and after with EXPLAIN ANALYZE.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { candidatesOf, type Candidate } from './candidates.ts';
import { explain, type PlanSampler, type SampledStatement } from './plans.ts';

export interface IndexAdvisorConfig {
  /** Keep a candidate only when it cuts the statement's planner cost by at least this fraction. */
  minCostReduction: number;
  /** Without HypoPG, candidates are tested by building them (rolled back) only on tables this small. */
  scratchMaxRows: number;
}

export type TestMethod = 'hypopg' | 'scratch-index';

export interface IndexSuggestion {
  id: string;
  statement: string;
  table: string;
  columns: string[];
  ddl: string;
  method: TestMethod;
  costBefore: number;
  costAfter: number;
  costReduction: number;
  sizeBytes: number | null;
  /** Rows inserted, updated and deleted in the table since statistics were reset: what the index slows. */
  tableWrites: number;
  state: 'suggested' | 'applied';
  applied: {
    at: string;
    indexName: string;
    /** The planner's cost and the measured execution of the sampled call, before and after the build. */
    costBefore: number | null;
    costAfter: number | null;
    executionMsBefore: number | null;
    executionMsAfter: number | null;
    speedup: number | null;
  } | null;
}

export interface NotTestable {
  statement: string;
  table: string;
  columns: string[];
  reason: string;
}

export interface Advice {
  engine: 'embedded' | 'server';
  hypopg: boolean;
  suggestions: IndexSuggestion[];
  notTestable: NotTestable[];
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const shortHash = (text: string) => createHash('sha1').update(text).digest('hex').slice(0, 12);

/** A name within PostgreSQL's 63 bytes that says who made the index and is the same for the same columns. */
export function indexName(candidate: Candidate): string {
  return `tachyon_advised_${candidate.table.slice(0, 30)}_${shortHash(`${candidate.table}(${candidate.columns.join(',')})`).slice(0, 8)}`;
}

function ddlOf(candidate: Candidate, name?: string): string {
  return `CREATE INDEX ${name ? `${quoteIdent(name)} ` : ''}ON ${quoteIdent(candidate.table)} (${candidate.columns.map(quoteIdent).join(', ')})`;
}

export class IndexAdvisor {
  private readonly suggestions = new Map<string, IndexSuggestion>();
  private hypopg: boolean | undefined;

  constructor(
    private readonly db: Database,
    private readonly plans: PlanSampler,
    private readonly config: IndexAdvisorConfig,
    private readonly logger: Logger,
  ) {}

  /** Whether HypoPG can be used here (installs the extension on a server that has it). */
  async hasHypopg(): Promise<boolean> {
    if (this.hypopg !== undefined) return this.hypopg;
    if (this.db.kind === 'embedded') return (this.hypopg = false);
    try {
      await this.db.exec('CREATE EXTENSION IF NOT EXISTS hypopg');
      this.hypopg = true;
    } catch (error) {
      this.logger.info({ err: error }, 'HypoPG is not available on this server: candidate indexes are tested by building them in a rolled-back transaction');
      this.hypopg = false;
    }
    return this.hypopg;
  }

  /** Analyzes the sampled statements (optionally only `statements`) and returns the advice. */
  async advise(statements?: readonly string[]): Promise<Advice> {
    const hypopg = await this.hasHypopg();
    const notTestable: NotTestable[] = [];
    const samples = this.plans.sampled().filter((s) => !statements || statements.includes(s.fingerprint));
    for (const sample of samples) {
      const plan = this.plans.plansOf(sample.fingerprint)[0];
      if (!plan) continue;
      for (const candidate of candidatesOf(plan.plan)) {
        const id = shortHash(`${candidate.table}(${candidate.columns.join(',')})`);
        if (this.suggestions.get(id)?.state === 'applied' || (await this.indexed(candidate))) continue;
        const rows = await this.tableRows(candidate.table);
        if (!hypopg && rows > this.config.scratchMaxRows) {
          notTestable.push({ statement: sample.fingerprint, ...candidate, reason: `${candidate.table} has about ${rows} rows: testing without HypoPG would build the index (install postgresql-15-hypopg on the server)` });
          continue;
        }
        const tested = await this.test(sample, candidate, hypopg).catch((error: unknown) => {
          notTestable.push({ statement: sample.fingerprint, ...candidate, reason: (error as Error).message });
          return undefined;
        });
        if (!tested || tested.costReduction < this.config.minCostReduction) continue;
        const existing = this.suggestions.get(id);
        if (existing && existing.costReduction >= tested.costReduction) continue;
        this.suggestions.set(id, {
          id,
          statement: sample.fingerprint,
          ...candidate,
          ddl: `${ddlOf(candidate, indexName(candidate)).replace('CREATE INDEX', this.db.kind === 'server' ? 'CREATE INDEX CONCURRENTLY' : 'CREATE INDEX')}`,
          method: hypopg ? 'hypopg' : 'scratch-index',
          ...tested,
          tableWrites: await this.tableWrites(candidate.table),
          state: 'suggested',
          applied: null,
        });
      }
    }
    return { engine: this.db.kind, hypopg, suggestions: this.list(), notTestable };
  }

  list(): IndexSuggestion[] {
    return [...this.suggestions.values()].sort((a, b) => b.costReduction - a.costReduction);
  }

  /** Builds a suggested index and records the statement's execution time before and after. */
  async apply(id: string): Promise<IndexSuggestion> {
    const suggestion = this.suggestions.get(id);
    if (!suggestion) throw new NotFoundError(`no index suggestion ${id}`);
    if (suggestion.state === 'applied') throw new ConflictError(`index suggestion ${id} is already applied`);
    const sample = this.plans.sampleOf(suggestion.statement);
    const before = sample ? await this.plans.capture(sample) : undefined;
    await this.db.exec(suggestion.ddl);
    await this.db.exec(`ANALYZE ${quoteIdent(suggestion.table)}`);
    const after = sample ? await this.plans.capture(sample) : undefined;
    const executionMsBefore = before?.executionMs ?? null;
    const executionMsAfter = after?.executionMs ?? null;
    suggestion.state = 'applied';
    suggestion.applied = {
      at: new Date().toISOString(),
      indexName: indexName(suggestion),
      costBefore: before?.totalCost ?? null,
      costAfter: after?.totalCost ?? null,
      executionMsBefore,
      executionMsAfter,
      speedup: executionMsBefore !== null && executionMsAfter ? executionMsBefore / executionMsAfter : null,
    };
    this.logger.info({ index: suggestion.applied.indexName, ...suggestion.applied }, 'advised index applied');
    return suggestion;
  }

  private async test(sample: SampledStatement, candidate: Candidate, hypopg: boolean): Promise<{ costBefore: number; costAfter: number; costReduction: number; sizeBytes: number | null }> {
    const before = await explain(this.db, sample.sql, sample.params, 'COSTS');
    const costBefore = before.Plan['Total Cost'] ?? 0;
    let sizeBytes: number | null = null;
    const withIndex = async (tx: Queryable) => {
      if (hypopg) {
        const { rows } = await tx.query<{ size: string }>('SELECT hypopg_relation_size(indexrelid) AS size FROM hypopg_create_index($1)', [ddlOf(candidate)]);
        sizeBytes = Number(rows[0]?.size ?? 0);
      } else {
        const name = 'tachyon_advisor_scratch';
        await tx.exec(ddlOf(candidate, name));
        const { rows } = await tx.query<{ size: string }>('SELECT pg_relation_size($1::regclass) AS size', [name]);
        sizeBytes = Number(rows[0]?.size ?? 0);
      }
    };
    const after = await explain(this.db, sample.sql, sample.params, 'COSTS', withIndex);
    if (hypopg) await this.db.transaction((tx) => tx.query('SELECT hypopg_reset()')).catch(() => {});
    const costAfter = after.Plan['Total Cost'] ?? costBefore;
    return { costBefore, costAfter, costReduction: costBefore > 0 ? 1 - costAfter / costBefore : 0, sizeBytes };
  }

  /** Whether an existing index already starts with these columns. */
  private async indexed(candidate: Candidate): Promise<boolean> {
    const { rows } = await this.db.query<{ columns: string[] }>(
      `SELECT array_agg(a.attname ORDER BY k.ord) AS columns
         FROM pg_index i
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = to_regclass($1)
        GROUP BY i.indexrelid`,
      [candidate.table],
    );
    return rows.some((r) => candidate.columns.every((c, i) => r.columns[i] === c));
  }

  private async tableRows(table: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string | null }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)`, [table]);
    return Math.max(0, Number(rows[0]?.n ?? 0));
  }

  private async tableWrites(table: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string | null }>(
      'SELECT (n_tup_ins + n_tup_upd + n_tup_del) AS n FROM pg_stat_user_tables WHERE relid = to_regclass($1)',
      [table],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
