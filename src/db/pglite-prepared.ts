/**
 * Named prepared statements on the embedded engine. PGlite's `query` sends parse, describe, bind,
 * describe, execute and sync for every call, so PostgreSQL parses, analyses and plans the text each
 * time: for the journal's commit (a chain of seven data-modifying CTEs over 43 array parameters) that
 * was about 70% of its 3.6 ms of CPU on an idle engine (docs/benchmarks.md, bench:commit). Prepared
 * once, a call is one bind + describe + execute + sync message, and PostgreSQL's plan cache keeps the
 * plan (generic after five custom plans, when it costs no more).
 */
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { QueryResult } from './database.ts';

interface Statement {
  sql: string;
  /** Parameter type oids, as PostgreSQL resolved them (each value is serialized for its type). */
  types: number[];
}

export class PreparedStatements {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: PGlite) {}

  /** Runs `sql` as the statement prepared under `name` (prepared on first use), outside any transaction. */
  query<T>(name: string, sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const { db } = this;
    // The same two locks as PGlite's own `query`: no other statement or transaction interleaves.
    return db._runExclusiveTransaction(() =>
      db._runExclusiveQuery(async () => {
        const statement = await this.prepared(name, sql);
        const values = params.map((value, i) => (value === null || value === undefined ? null : serialize(db, statement.types[i]!, value)));
        // Describing the portal gives the row description the results are parsed with (column names and types).
        const { messages } = await db.execProtocol(
          concat([protocol.serialize.bind({ statement: name, values }), protocol.serialize.describe({ type: 'P' }), protocol.serialize.execute({}), protocol.serialize.sync()]),
        );
        await db.syncToFs();
        const [result] = parse.parseResults(messages, db.parsers);
        const rows = (result?.rows ?? []) as T[];
        return { rows, rowCount: Math.max(rows.length, result?.affectedRows ?? 0) };
      }),
    );
  }

  private async prepared(name: string, sql: string): Promise<Statement> {
    const known = this.statements.get(name);
    if (known) {
      if (known.sql !== sql) throw new Error(`prepared statement ${name} was prepared with other SQL`);
      return known;
    }
    const { messages } = await this.db.execProtocol(concat([protocol.serialize.parse({ name, text: sql }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync()]));
    const statement = { sql, types: parse.parseDescribeStatementResults(messages) };
    this.statements.set(name, statement);
    return statement;
  }
}

function serialize(db: PGlite, type: number, value: unknown): string {
  const serializer = db.serializers[type];
  return serializer ? serializer(value) : String(value);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
