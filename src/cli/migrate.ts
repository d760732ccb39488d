/**
 * `tachyon migrate`: applies pending migrations; beside a running embedded server, says that the server applied them.
 * `tachyon migrate --down-to N [--yes]`: undoes the applied migrations above N, newest first (their down
 * steps drop what they added, data included): without --yes it only lists them.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { migrate, migrateDown, rollbackPlan } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { BadRequestError, ConflictError } from '../kernel/errors.ts';
import { findLocalServer } from './local-server.ts';

const name = (m: { version: number; name: string }) => `${String(m.version).padStart(3, '0')}_${m.name}`;

export async function run(argv: string[] = []): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'down-to': { type: 'string' }, yes: { type: 'boolean' } } });
  const downTo = values['down-to'];
  if (downTo !== undefined && !/^\d{1,3}$/.test(downTo)) throw new BadRequestError(`--down-to takes a migration number (0 for an empty schema), got "${downTo}"`);
  const config = loadConfig();
  const server = findLocalServer(config);
  if (server) {
    if (downTo !== undefined) throw new ConflictError(`the running server (pid ${server.pid}) holds the database: stop it, then roll back`);
    // Every start migrates before it serves; a newer release's migrations wait for the next start.
    console.log(`database is up to date: the running server (pid ${server.pid}, ${server.url}) applied the migrations at start; restart it after an upgrade`);
    return 0;
  }
  const db = await openDatabase(config);
  try {
    if (downTo !== undefined) {
      const target = Number(downTo);
      if (!values.yes) {
        const plan = await rollbackPlan(db, target);
        if (plan.length === 0) {
          console.log(`nothing to roll back: no migration above ${target} is applied`);
          return 0;
        }
        console.log(`would undo, newest first (each down step drops what its migration added, data included):\n${plan.map((m) => `  ${name(m)}`).join('\n')}\nrun again with --yes to roll back`);
        return 2;
      }
      const undone = await migrateDown(db, target);
      console.log(undone.length === 0 ? `nothing to roll back: no migration above ${target} is applied` : undone.map((m) => `rolled back ${name(m)}`).join('\n'));
      return 0;
    }
    const applied = await migrate(db);
    console.log(applied.length === 0 ? 'database is up to date' : applied.map((m) => `applied ${name(m)}`).join('\n'));
    return 0;
  } finally {
    await db.close();
  }
}
