/** `tachyon users create`: directly on the database, or through the running server's API (local-server.ts). */
import { parseArgs } from 'node:util';
import type { Role } from '../auth/principal.ts';
import { DEFAULT_OPENING_CASH, UserStore, type CreatedUser } from '../auth/user-store.ts';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { BadRequestError, ConflictError } from '../kernel/errors.ts';
import { parseAmount } from '../kernel/money.ts';
import { callServer, findLocalServer } from './local-server.ts';

const USAGE = 'usage: tachyon users create --name NAME --role trader|admin [--opening-cash AMOUNT]';

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'token') return (await import('./users-token.ts')).run(rest);
  if (action !== 'create') {
    console.error(USAGE);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, role: { type: 'string' }, 'opening-cash': { type: 'string' }, cash: { type: 'string' } },
  });
  if (!values.name) throw new BadRequestError(`--name is required (${USAGE})`);
  if (values.role !== 'trader' && values.role !== 'admin') throw new BadRequestError(`--role must be trader or admin, not ${values.role ?? 'missing'}`);
  if (values.cash !== undefined) console.error('tachyon users: --cash is deprecated, use --opening-cash (the API calls it openingCash)');
  const cash = values['opening-cash'] ?? values.cash ?? DEFAULT_OPENING_CASH;
  const openingCash = parseAmount(cash, '--opening-cash');
  const input: { name: string; role: Role } = { name: values.name, role: values.role };

  const config = loadConfig();
  const server = findLocalServer(config);
  const created = await (server ? callServer<CreatedUser>(server, 'POST', '/api/admin/users', { ...input, openingCash: Number(cash) }) : createDirectly()).catch((error: unknown) => {
    if (error instanceof ConflictError) throw new ConflictError(`${error.message}: choose another --name`);
    throw error;
  });
  async function createDirectly(): Promise<CreatedUser> {
    const db = await openDatabase(config);
    try {
      await migrate(db);
      return await new UserStore(db).create({ ...input, openingCash, label: 'cli' });
    } finally {
      await db.close();
    }
  }

  console.log(`created ${created.role} "${created.name}" (user ${created.userId}${created.accountId ? `, account ${created.accountId}` : ''})`);
  console.log(`token: ${created.token}`);
  return 0;
}
