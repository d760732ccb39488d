/**
 * Indexes that cost without paying: never scanned since statistics were reset (primary keys and
 * unique indexes excluded: they enforce something), and indexes whose columns are a leading prefix of
 * another index on the same table (the longer one serves the same lookups). Each with its size and the
 * table's write load, which every index slows.
 */
import type { Queryable } from '../db/database.ts';

export interface UnusedIndex {
  table: string;
  index: string;
  sizeBytes: number;
  tableWrites: number;
}

export interface DuplicateIndex {
  table: string;
  index: string;
  coveredBy: string;
  sizeBytes: number;
  tableWrites: number;
}

export async function unusedIndexes(db: Queryable): Promise<UnusedIndex[]> {
  const { rows } = await db.query<{ table: string; index: string; size: string; writes: string }>(
    `SELECT s.relname AS table, s.indexrelname AS index, pg_relation_size(s.indexrelid) AS size,
            coalesce(t.n_tup_ins + t.n_tup_upd + t.n_tup_del, 0) AS writes
       FROM pg_stat_user_indexes s
       JOIN pg_index i ON i.indexrelid = s.indexrelid
       LEFT JOIN pg_stat_user_tables t ON t.relid = s.relid
      WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
      ORDER BY pg_relation_size(s.indexrelid) DESC`,
  );
  return rows.map((r) => ({ table: r.table, index: r.index, sizeBytes: Number(r.size), tableWrites: Number(r.writes) }));
}

export async function duplicateIndexes(db: Queryable): Promise<DuplicateIndex[]> {
  const { rows } = await db.query<{ table: string; index: string; covered_by: string; size: string; writes: string }>(
    `SELECT c.relname AS table, ia.relname AS index, ib.relname AS covered_by, pg_relation_size(a.indexrelid) AS size,
            coalesce(t.n_tup_ins + t.n_tup_upd + t.n_tup_del, 0) AS writes
       FROM pg_index a
       JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
       JOIN pg_class c ON c.oid = a.indrelid
       JOIN pg_class ia ON ia.oid = a.indexrelid
       JOIN pg_class ib ON ib.oid = b.indexrelid
       LEFT JOIN pg_stat_user_tables t ON t.relid = a.indrelid
      WHERE c.relnamespace = 'public'::regnamespace
        AND NOT a.indisunique AND NOT a.indisprimary
        AND a.indexprs IS NULL AND b.indexprs IS NULL AND a.indpred IS NULL AND b.indpred IS NULL
        AND ia.relam = ib.relam
        AND (b.indkey::text LIKE a.indkey::text || ' %' OR (b.indkey::text = a.indkey::text AND (b.indisunique OR a.indexrelid > b.indexrelid)))
      ORDER BY pg_relation_size(a.indexrelid) DESC`,
  );
  return rows.map((r) => ({ table: r.table, index: r.index, coveredBy: r.covered_by, sizeBytes: Number(r.size), tableWrites: Number(r.writes) }));
}
