/** Prints once per run which real servers the suites will use. */
import { PG_ADMIN_URL, REDIS_TEST_URL, pgAvailable, redisAvailable } from './servers.ts';

export default async function setup(): Promise<void> {
  const [pgOk, redisOk] = await Promise.all([pgAvailable(), redisAvailable()]);
  console.log(`test servers: PostgreSQL ${pgOk ? 'at ' + PG_ADMIN_URL : 'MISSING'}, Redis ${redisOk ? 'at ' + REDIS_TEST_URL : 'MISSING'}`);
}
