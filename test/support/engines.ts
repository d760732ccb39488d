/**
 * Runs a suite against both storage engines: embedded PGlite (in memory) and, when reachable,
 * a fresh database on the PostgreSQL server.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { openEmbedded } from '../../src/db/pglite.ts';
import { openServer } from '../../src/db/pg.ts';
import type { Database } from '../../src/db/database.ts';
import { createTempDatabase, pgAvailable } from './servers.ts';

export interface Engine {
  name: 'pglite' | 'postgres';
  /** Present only for the server engine: the URL of this run's database. */
  open(): Promise<{ db: Database; url: string | undefined; cleanup(): Promise<void> }>;
}

let template: Blob | undefined;

export const pglite: Engine = {
  name: 'pglite',
  async open() {
    // From the run's initdb output (test/support/global-setup.ts): the same cluster, without initdb.
    template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
    const db = await openEmbedded(undefined, { from: template });
    return { db, url: undefined, cleanup: () => db.close() };
  },
};

export const postgres: Engine = {
  name: 'postgres',
  async open() {
    const temp = await createTempDatabase();
    const db = await openServer({ url: temp.url, poolSize: 10 });
    return {
      db,
      url: temp.url,
      async cleanup() {
        await db.close();
        await temp.drop();
      },
    };
  },
};

/** The engines available on this machine (PostgreSQL only when its server answers). */
export async function engines(): Promise<Engine[]> {
  return (await pgAvailable()) ? [pglite, postgres] : [pglite];
}
