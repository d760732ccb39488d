/**
 * `tachyon users token --name NAME`: shows a user's token again. The demo users' tokens are kept in
 * the data directory (seed/demo-credentials.ts), so on the machine that owns the data they are
 * printed as they are, without opening the database (this works beside a running server). Any
 * other user gets a new token (the database keeps only hashes), labelled `cli`.
 */
import { parseArgs } from 'node:util';
import { UserStore } from '../auth/user-store.ts';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { demoCredentialFile } from '../seed/demo-credentials.ts';

const USAGE = 'usage: tachyon users token --name NAME';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { name: { type: 'string' } }, strict: false });
  const name = typeof values.name === 'string' ? values.name : undefined;
  if (!name) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const file = demoCredentialFile(config.dataDir);
  const kept = file.read()[name];
  if (kept) {
    console.log(kept);
    console.error(`(the token of "${name}" kept in ${file.path})`);
    return 0;
  }
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const users = new UserStore(db);
    const user = await users.findByName(name);
    if (!user) {
      console.error(`no user named "${name}": create one with \`tachyon users create --name ${name} --role trader\``);
      return 2;
    }
    console.log(await users.issueToken(user.id, 'cli'));
    console.error(`(a new token for "${name}": tokens are stored hashed, so earlier ones cannot be shown; they stay valid)`);
    return 0;
  } finally {
    await db.close();
  }
}
