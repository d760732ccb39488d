/** The one classifier of "database away" errors, fed real errors from both adapters. */
import { describe, expect, it } from 'vitest';
import { openServer } from '../../src/db/pg.ts';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { pglite } from '../support/engines.ts';
import { createTempDatabase, pgAvailable } from '../support/servers.ts';

const serverAvailable = await pgAvailable();
const failure = (promise: Promise<unknown>) => promise.then(() => expect.unreachable('should have failed'), (error: unknown) => error);

describe('isDatabaseUnavailable', () => {
  it('PGlite: a closed instance is unavailable; a bad statement or a broken constraint is not', async () => {
    const { db } = await pglite.open();
    expect(isDatabaseUnavailable(await failure(db.query('SELEC 1')))).toBe(false);
    await db.exec('CREATE TABLE t (id int PRIMARY KEY)');
    await db.query('INSERT INTO t VALUES (1)');
    expect(isDatabaseUnavailable(await failure(db.query('INSERT INTO t VALUES (1)')))).toBe(false);
    await db.close();
    expect(isDatabaseUnavailable(await failure(db.query('SELECT 1')))).toBe(true);
  });

  it.skipIf(!serverAvailable)('pg: a refused connection and a terminated backend are unavailable; a bad statement is not', async () => {
    expect(isDatabaseUnavailable(await failure(openServer({ url: 'postgres://root@127.0.0.1:41199/none', poolSize: 1 })))).toBe(true);
    const temp = await createTempDatabase('unavailable');
    const db = await openServer({ url: temp.url, poolSize: 1 });
    try {
      expect(isDatabaseUnavailable(await failure(db.query('SELEC 1')))).toBe(false);
      // The server ends this session (57P01 admin_shutdown), as a restart or failover would.
      expect(isDatabaseUnavailable(await failure(db.query('SELECT pg_terminate_backend(pg_backend_pid())')))).toBe(true);
    } finally {
      await db.close();
      await temp.drop();
    }
  });

  it('follows causes', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new Error('loading the portfolio failed', { cause }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('plain'))).toBe(false);
  });
});
