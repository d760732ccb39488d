/**
 * Prints once per run which real servers the suites will use, builds dist/ if stale, and prepares the
 * data directory every in-memory PGlite of the run starts from.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from '../../scripts/build.mjs';
import { newPglite } from '../../src/db/pglite.ts';
import { PG_ADMIN_URL, REDIS_TEST_URL, pgAvailable, redisAvailable } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A freshly initialized PGlite data directory (`dumpDataDir()`), see test/support/engines.ts. */
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  // Tests import the sources, but the ones that spawn bin/tachyon.js run the build: one build here,
  // before the files run in parallel, instead of the first such test paying for it inside its timeout.
  ensureBuilt();
  const [pgOk, redisOk] = await Promise.all([pgAvailable(), redisAvailable()]);
  console.log(`test servers: PostgreSQL ${pgOk ? 'at ' + PG_ADMIN_URL : 'MISSING'}, Redis ${redisOk ? 'at ' + REDIS_TEST_URL : 'MISSING'}`);
  // initdb once per run, not once per in-memory engine: it took 20-50 s of a file's 60 s hook timeout
  // on a loaded machine (docs/testing.md); every engine still starts from a cluster no test has touched.
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-pglite-template-'));
  const pglite = newPglite(undefined);
  await pglite.waitReady;
  const dump = await pglite.dumpDataDir('none');
  await pglite.close();
  const file = join(dir, 'initdb.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
