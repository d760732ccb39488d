/**
 * SQL statement fingerprints: literals become `?` and whitespace collapses, so the same statement
 * with different values is one label value. Fingerprints are memoized by SQL text (components reuse
 * constant SQL strings), and both maps are bounded: past `maxStatements` distinct fingerprints, new
 * ones report as `other`, which keeps Prometheus label cardinality fixed.
 */
const MAX_SQL_CACHE = 2_000;
const MAX_LENGTH = 120;

export function fingerprint(sql: string): string {
  const text = sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/(?<![\w$])\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text;
}

export class StatementNames {
  private readonly bySql = new Map<string, string>();
  private readonly known = new Set<string>();

  constructor(private readonly maxStatements = 100) {}

  of(sql: string): string {
    const cached = this.bySql.get(sql);
    if (cached) return cached;
    let name = fingerprint(sql);
    if (!this.known.has(name)) {
      if (this.known.size >= this.maxStatements) name = 'other';
      else this.known.add(name);
    }
    if (this.bySql.size < MAX_SQL_CACHE) this.bySql.set(sql, name);
    return name;
  }
}
