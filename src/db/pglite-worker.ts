/**
 * Worker-thread entry of the embedded engine (see pglite-thread.ts): opens PGlite in this thread
 * and answers the serving thread's requests, one at a time, so that the next one is chosen when the
 * engine frees: the first urgent request waiting, else the oldest.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { EngineMemory, Queryable } from './database.ts';
import { copyInto, newPglite, wasmMemoryBytes, wrap } from './pglite.ts';
import { PreparedStatements } from './pglite-prepared.ts';
import { serializeError, type EngineReply, type EngineRequest } from './pglite-thread.ts';

interface OpenTransaction {
  scoped: Queryable;
  finish(commit: boolean): void;
  done: Promise<unknown>;
}

const port = parentPort;
if (!port) throw new Error('pglite-worker runs as a worker thread');
const reply = (message: EngineReply) => port.postMessage(message);

/** The rejection that makes PGlite roll a transaction back without it being anyone's error. */
const ROLLBACK = Symbol('rollback');

const { dataDir, optimizingCompiler } = workerData as { dataDir?: string; optimizingCompiler?: boolean };
const db = newPglite(dataDir, undefined, optimizingCompiler);
const plain = wrap(db);
const prepared = new PreparedStatements(db);
const transactions = new Map<number, OpenTransaction>();
let nextTransaction = 1;

async function begin(): Promise<number> {
  let opened!: (tx: OpenTransaction) => void;
  const ready = new Promise<OpenTransaction>((resolve) => (opened = resolve));
  const done = db.transaction(
    (tx) =>
      new Promise<void>((resolve, reject) => {
        opened({ scoped: wrap(tx), finish: (commit) => (commit ? resolve() : reject(ROLLBACK)), done });
      }),
  );
  // Awaited by `end`; until then a failed BEGIN must not surface as an unhandled rejection.
  done.catch(() => {});
  const tx = await Promise.race([
    ready,
    done.then(() => {
      throw new Error('the transaction ended before it began');
    }),
  ]);
  const id = nextTransaction++;
  transactions.set(id, tx);
  return id;
}

function target(tx: number | undefined): Queryable {
  if (tx === undefined) return plain;
  const open = transactions.get(tx);
  if (!open) throw new Error(`no open transaction ${tx}`);
  return open.scoped;
}

async function run(request: EngineRequest): Promise<unknown> {
  switch (request.op) {
    case 'query':
      if (request.prepared && request.tx === undefined) return prepared.query(request.prepared, request.sql, request.params);
      return target(request.tx).query(request.sql, request.params);
    case 'exec':
      return target(request.tx).exec(request.sql);
    case 'copy':
      return copyInto(db, request.table, request.columns, request.rows);
    case 'begin':
      return begin();
    case 'end': {
      const open = transactions.get(request.tx);
      if (!open) throw new Error(`no open transaction ${request.tx}`);
      transactions.delete(request.tx);
      open.finish(request.commit);
      try {
        await open.done;
      } catch (error) {
        if (error !== ROLLBACK) throw error;
      }
      return undefined;
    }
    case 'memory':
      return { wasmMemoryBytes: wasmMemoryBytes(db), threadHeapBytes: getHeapStatistics().total_physical_size } satisfies EngineMemory;
    case 'close':
      if (!db.closed) await db.close();
      return undefined;
  }
}

try {
  await db.waitReady;
  reply({ id: 0, ok: true });
} catch (error) {
  reply({ id: 0, ok: false, error: serializeError(error) });
}

/** Requests not handed to PGlite yet, in arrival order. */
const waiting: EngineRequest[] = [];
let running = false;
/** The transaction holding the engine: until it ends only its own statements start (PGlite's lock would hold the rest anyway). */
let holder: number | undefined;

function next(): EngineRequest | undefined {
  let chosen = -1;
  for (let i = 0; i < waiting.length; i++) {
    const request = waiting[i]!;
    if (holder !== undefined && !('tx' in request && request.tx === holder)) continue;
    if (request.op === 'query' && request.urgent) {
      chosen = i;
      break;
    }
    if (chosen < 0) chosen = i;
  }
  return chosen < 0 ? undefined : waiting.splice(chosen, 1)[0];
}

/**
 * A statement runs to its end inside one turn of this thread's event loop (PGlite awaits only
 * microtasks), so requests sent meanwhile are received after it: choosing on the next turn
 * (setImmediate, after the port has delivered them) lets an urgent one be seen before the next starts.
 */
let scheduled = false;
function schedule(): void {
  if (scheduled || running) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    dispatch();
  });
}

/** Runs a request, noting which transaction holds the engine once one begins and until it ends. */
async function runNoting(request: EngineRequest): Promise<unknown> {
  try {
    const result = await run(request);
    if (request.op === 'begin') holder = result as number;
    return result;
  } finally {
    if (request.op === 'end') holder = undefined;
  }
}

function answer(request: EngineRequest, work: Promise<unknown>): Promise<void> {
  return work.then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: serializeError(error) }),
  );
}

function dispatch(): void {
  if (running) return;
  const request = next();
  if (!request) return;
  running = true;
  void answer(request, runNoting(request)).finally(() => {
    running = false;
    schedule();
  });
}

port.on('message', (request: EngineRequest) => {
  // Memory figures need no engine time: never queued behind statements.
  if (request.op === 'memory') {
    void answer(request, run(request));
    return;
  }
  waiting.push(request);
  schedule();
});
