/** `tachyon migrate`: applies pending migrations; beside a running embedded server, says that the server applied them. */
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { findLocalServer } from './local-server.ts';

export async function run(): Promise<number> {
  const config = loadConfig();
  const server = findLocalServer(config);
  if (server) {
    // Every start migrates before it serves; a newer release's migrations wait for the next start.
    console.log(`database is up to date: the running server (pid ${server.pid}, ${server.url}) applied the migrations at start; restart it after an upgrade`);
    return 0;
  }
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    console.log(applied.length === 0 ? 'database is up to date' : applied.map((m) => `applied ${String(m.version).padStart(3, '0')}_${m.name}`).join('\n'));
    return 0;
  } finally {
    await db.close();
  }
}
