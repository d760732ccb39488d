import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/pglite.ts';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';

/** Enough work for a few hundred milliseconds of the engine on an idle core. */
const LONG_STATEMENT = 'SELECT count(*)::int AS n FROM generate_series(1, 1000000) AS g WHERE g % 7 = 0';

// The same contract on the engine's own thread as in-process: the platform swaps one for the other.
// Last, as TACHYON_DB_WASM_OPTIMIZE=false opens it: V8's baseline tier only (a process-wide setting, so after the others).
describe.each([
  { name: 'in-process', thread: false },
  { name: 'on its own thread', thread: true },
  { name: 'on its own thread, baseline WebAssembly tier only', thread: true, optimizingCompiler: false },
])('embedded engine $name', { timeout: 120_000 }, ({ thread, optimizingCompiler }) => {
  let db: Database;
  const open = async () => (db ??= await openEmbedded(undefined, { thread, ...(optimizingCompiler === undefined ? {} : { optimizingCompiler }) }));
  afterAll(async () => {
    await db?.close();
  });

  it('returns the same types: int8 as number, timestamptz as Date, jsonb, bytea, arrays, null', async () => {
    await open();
    const at = new Date('2026-11-25T10:00:00.123Z');
    const { rows, rowCount } = await db.query<Record<string, unknown>>(
      `SELECT 9007199254740991::int8 AS big, $1::timestamptz AS at, $2::jsonb AS doc, $3::bytea AS raw, ARRAY[1,2]::int[] AS list, NULL::text AS nothing`,
      [at, JSON.stringify({ a: [1, 'x'] }), new Uint8Array([1, 2, 255])],
    );
    expect(rowCount).toBe(1);
    const row = rows[0]!;
    expect(row.big).toBe(Number.MAX_SAFE_INTEGER);
    expect(row.at).toBeInstanceOf(Date);
    expect((row.at as Date).getTime()).toBe(at.getTime());
    expect(row.doc).toEqual({ a: [1, 'x'] });
    expect([...(row.raw as Uint8Array)]).toEqual([1, 2, 255]);
    expect(row.list).toEqual([1, 2]);
    expect(row.nothing).toBeNull();
  });

  it('loads with COPY, and reports a constraint violation with its SQLSTATE and detail', async () => {
    await open();
    await db.exec('CREATE TABLE copied (id int PRIMARY KEY, note text)');
    await db.copyFrom('copied', ['id', 'note'], '1\tone\n2\ttwo');
    expect((await db.query('SELECT * FROM copied ORDER BY id')).rows).toEqual([
      { id: 1, note: 'one' },
      { id: 2, note: 'two' },
    ]);
    const error = await db.query('INSERT INTO copied VALUES (1, $1)', ['again']).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; detail?: string },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: '23505', message: expect.stringMatching(/duplicate key/) });
    expect(error?.detail).toMatch(/\(id\)=\(1\)/);
    // A statement's error is not an outage (the 503 classification must not see one).
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('commits a transaction that resolves and rolls back one that throws, the caller’s error intact', async () => {
    await open();
    await db.exec('CREATE TABLE moves (id int PRIMARY KEY)');
    const seen = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO moves VALUES (1)');
      return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM moves')).rows[0]!.n;
    });
    expect(seen).toBe(1);
    class Refused extends Error {}
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO moves VALUES (2)');
        throw new Refused('changed my mind');
      }),
    ).rejects.toBeInstanceOf(Refused);
    // A failing statement inside the transaction rolls it back too.
    await expect(db.transaction(async (tx) => tx.query('INSERT INTO moves VALUES (1)'))).rejects.toMatchObject({ code: '23505' });
    expect((await db.query('SELECT id FROM moves ORDER BY id')).rows).toEqual([{ id: 1 }]);
    // Statements sent outside a transaction while one is open wait for it, in order.
    const order: string[] = [];
    await Promise.all([
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO moves VALUES (3)');
        order.push('tx');
      }),
      db.query('SELECT 1').then(() => order.push('after')),
    ]);
    expect(order).toEqual(['tx', 'after']);
  });

  it('runs a prepared statement as a plain one: the same rows, types, row counts and errors, call after call', async () => {
    await open();
    await db.exec('CREATE TABLE prepared_rows (id int8 PRIMARY KEY, at timestamptz NOT NULL, tags text[])');
    const insert = 'INSERT INTO prepared_rows SELECT i, to_timestamp(t / 1000.0), ARRAY[n] FROM unnest($1::int8[], $2::float8[], $3::text[]) AS u(i, t, n)';
    const at = Date.parse('2026-11-26T07:00:00.250Z');
    const first = await db.query(insert, [[1, 2], [at, at], ['a', null]], { prepared: 'test_insert' });
    expect(first.rowCount).toBe(2);
    expect((await db.query(insert, [[3], [at], ['c']], { prepared: 'test_insert' })).rowCount).toBe(1);
    const select = 'SELECT id, at, tags FROM prepared_rows WHERE id = ANY($1::int8[]) ORDER BY id';
    const plain = await db.query(select, [[1, 2, 3]]);
    const prepared = await db.query(select, [[1, 2, 3]], { prepared: 'test_select' });
    expect(prepared).toEqual(plain);
    expect(prepared.rows[0]).toEqual({ id: 1, at: new Date(at), tags: ['a'] });
    // A constraint violation keeps its SQLSTATE, and the statement stays usable afterwards.
    await expect(db.query(insert, [[1], [at], ['again']], { prepared: 'test_insert' })).rejects.toMatchObject({ code: '23505' });
    expect((await db.query(insert, [[4], [at], [null]], { prepared: 'test_insert' })).rowCount).toBe(1);
    // One name, one text: reusing a name for other SQL is a programming error, not a silent wrong plan.
    await expect(db.query('SELECT 1', [], { prepared: 'test_insert' })).rejects.toThrow(/other SQL/);
  });

  it(thread ? 'starts an urgent statement before the ones queued ahead of it, but never inside an open transaction' : 'runs statements in the order they were sent (no queue of its own to jump in-process)', async () => {
    await open();
    const finished: string[] = [];
    const send = (name: string, urgent = false) => db.query('SELECT $1::text AS name', [name], { urgent }).then(() => finished.push(name));
    // The long statement holds the engine while the others queue behind it (the urgent one may even start first).
    await Promise.all([db.query(LONG_STATEMENT).then(() => finished.push('long')), send('first'), send('second'), send('commit', true)]);
    if (thread) {
      expect(finished.filter((name) => name !== 'long')).toEqual(['commit', 'first', 'second']);
    } else {
      expect(finished).toEqual(['long', 'first', 'second', 'commit']);
    }

    finished.length = 0;
    let sent: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      // Sent while the transaction holds the engine: it waits for the transaction's end.
      sent = send('commit', true);
      await tx.query(LONG_STATEMENT);
      finished.push('transaction');
    });
    await sent;
    expect(finished).toEqual(['transaction', 'commit']);
  });

  it('reports its WebAssembly memory, and its thread’s own heap when it has a thread', async () => {
    const memory = await (await open()).memory!();
    // PGlite starts with 128 MiB of WebAssembly memory (shared buffers and catalogs live there).
    expect(memory.wasmMemoryBytes).toBeGreaterThanOrEqual(128 * 2 ** 20);
    if (thread) expect(memory.threadHeapBytes).toBeGreaterThan(0);
    else expect(memory.threadHeapBytes).toBe(0);
  });

  it(thread ? 'leaves this thread’s event loop free during a long statement' : 'holds this thread’s event loop during a long statement (why the thread exists)', async () => {
    await open();
    const before = performance.eventLoopUtilization();
    const { rows } = await db.query<{ n: number }>(LONG_STATEMENT);
    const busy = performance.eventLoopUtilization(before).utilization;
    expect(rows[0]!.n).toBe(142857);
    // Utilization is the share of the interval this thread spent running, not waiting: a ratio, not a time.
    if (thread) expect(busy).toBeLessThan(0.5);
    else expect(busy).toBeGreaterThan(0.5);
  });
});

describe('embedded engine on its own thread, lifecycle', () => {
  const root = mkdtempSync(join(tmpdir(), 'tachyon-pglite-thread-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps data in its directory across a reopen, and answers "closed" (an outage) once closed', async () => {
    const dataDir = join(root, 'pglite');
    const first = await openEmbedded(dataDir, { thread: true });
    await first.exec('CREATE TABLE kept (id int PRIMARY KEY)');
    await first.query('INSERT INTO kept VALUES (7)');
    await first.close();
    const error = await first.query('SELECT 1').catch((e: unknown) => e);
    expect(isDatabaseUnavailable(error)).toBe(true);

    const second = await openEmbedded(dataDir, { thread: true });
    try {
      expect((await second.query('SELECT id FROM kept')).rows).toEqual([{ id: 7 }]);
    } finally {
      await second.close();
    }
  }, 180_000); // initdb takes seconds, and much longer on a busy shared machine
});
