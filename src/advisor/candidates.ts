/**
 * Candidate indexes from a plan, the way Dexter reads a query: the columns a sequential scan filters
 * on (equalities first, then one range column) and the keys a sort above it orders by. Only plain
 * column references are used; expressions, casts of columns and OR-ed filters make no candidate.
 */
import type { PlanNode } from './plans.ts';

export interface Candidate {
  table: string;
  columns: string[];
}

const COMPARISON = /\(?\(?([a-z_][a-z0-9_]*)\)? (=|<|>|<=|>=|= ANY) /g;

function filterColumns(filter: string): { equality: string[]; range: string[] } {
  const equality: string[] = [];
  const range: string[] = [];
  if (/ OR /.test(filter)) return { equality, range };
  for (const [, column, op] of filter.matchAll(COMPARISON)) {
    const list = op === '=' || op === '= ANY' ? equality : range;
    if (!equality.includes(column!) && !range.includes(column!)) list.push(column!);
  }
  return { equality, range };
}

function sortColumns(keys: readonly string[], table: string): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const match = /^(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)(?: DESC)?$/.exec(key);
    if (!match || (match[1] && match[1] !== table)) return out;
    out.push(match[2]!);
  }
  return out;
}

export function candidatesOf(plan: PlanNode): Candidate[] {
  const out: Candidate[] = [];
  const add = (table: string, columns: string[]) => {
    if (columns.length > 0 && !out.some((c) => c.table === table && c.columns.join() === columns.join())) out.push({ table, columns });
  };
  const visitSorted = (node: PlanNode, sortKeys: readonly string[]) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) {
      const table = node['Relation Name'];
      const { equality, range } = node.Filter ? filterColumns(node.Filter) : { equality: [], range: [] };
      const sorted = sortColumns(sortKeys, table).filter((c) => !equality.includes(c));
      add(table, [...equality, ...(sorted.length > 0 ? sorted : range.slice(0, 1))]);
      add(table, [...equality, ...range.slice(0, 1)]);
      for (const column of [...equality, ...range]) add(table, [column]);
    }
    const keys = node['Node Type'] === 'Sort' ? (node['Sort Key'] ?? []) : node['Node Type'] === 'Limit' ? sortKeys : [];
    for (const child of node.Plans ?? []) visitSorted(child, keys);
  };
  visitSorted(plan, []);
  return out;
}
