/** Prints once per run which real servers the suites will use, and builds dist/ if stale. */
import { ensureBuilt } from '../../scripts/build.mjs';
import { PG_ADMIN_URL, REDIS_TEST_URL, pgAvailable, redisAvailable } from './servers.ts';

export default async function setup(): Promise<void> {
  // Tests import the sources, but the ones that spawn bin/tachyon.js run the build: one build here,
  // before the files run in parallel, instead of the first such test paying for it inside its timeout.
  ensureBuilt();
  const [pgOk, redisOk] = await Promise.all([pgAvailable(), redisAvailable()]);
  console.log(`test servers: PostgreSQL ${pgOk ? 'at ' + PG_ADMIN_URL : 'MISSING'}, Redis ${redisOk ? 'at ' + REDIS_TEST_URL : 'MISSING'}`);
}
