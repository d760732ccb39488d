/**
 * Worker-thread entry of the embedded engine (see pglite-thread.ts): opens PGlite in this thread
 * and answers the serving thread's requests. Requests are started in arrival order, so PGlite's
 * lock runs them in that order, as in-process.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Queryable } from './database.ts';
import { copyInto, newPglite, wrap } from './pglite.ts';
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

const db = newPglite((workerData as { dataDir?: string }).dataDir);
const plain = wrap(db);
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

port.on('message', (request: EngineRequest) => {
  run(request).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: serializeError(error) }),
  );
});
