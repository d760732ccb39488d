/**
 * A read replica that goes away costs no failed read: reads that fail on it are retried on the
 * primary, the probe takes it out (reported with its error), and it is used again once it answers.
 * The "replica" is the primary itself reached through a TCP proxy the test cuts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { openServer } from '../../src/db/pg.ts';
import { createTempDatabase, pgAvailable, type TempDatabase } from '../support/servers.ts';
import { sleep } from './support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const hasPg = await pgAvailable();

describe.skipIf(!hasPg)('read replica fallback', () => {
  let temp: TempDatabase;
  let proxy: TcpProxy;
  let db: Database;

  beforeAll(async () => {
    temp = await createTempDatabase('replica');
    const url = new URL(temp.url);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port) });
    url.host = `127.0.0.1:${proxy.port}`;
    db = await openServer({ url: temp.url, replicaUrls: [url.toString()], poolSize: 4, statementTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await temp?.drop();
  });

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 100 && !condition(); i++) await sleep(100);
    if (!condition()) throw new Error(`timed out waiting for ${what}`);
  }

  it('answers every read from the primary while the replica is cut, and uses the replica again once it is back', async () => {
    expect((await db.replica.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await until(() => db.replicas!()[0]!.lagMs === 0, 'the first probe');
    proxy.cut();
    for (let i = 0; i < 5; i++) expect((await db.replica.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await until(() => !db.replicas!()[0]!.usable, 'the replica to be taken out');
    expect(db.replicas!()[0]!.error).toBeTruthy();
    // Once back, a query's own error (not the replica's) reaches the caller as it is.
    proxy.heal();
    await until(() => db.replicas!()[0]!.usable, 'the replica to be used again');
    await expect(db.replica.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
  });
});
