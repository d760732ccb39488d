import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';

export async function run(): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    console.log(applied.length === 0 ? 'database is up to date' : applied.map((m) => `applied ${String(m.version).padStart(3, '0')}_${m.name}`).join('\n'));
    return 0;
  } finally {
    await db.close();
  }
}
