import { parseArgs } from 'node:util';
import { DEFAULT_OPENING_CASH, UserStore } from '../auth/user-store.ts';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { parseAmount } from '../kernel/money.ts';

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'token') return (await import('./users-token.ts')).run(rest);
  if (action !== 'create') {
    console.error('usage: tachyon users create --name NAME --role trader|admin [--cash AMOUNT]');
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, role: { type: 'string' }, cash: { type: 'string' } } });
  if (!values.name || (values.role !== 'trader' && values.role !== 'admin')) {
    console.error('usage: tachyon users create --name NAME --role trader|admin [--cash AMOUNT]');
    return 2;
  }
  const db = await openDatabase(loadConfig());
  try {
    await migrate(db);
    const created = await new UserStore(db).create({
      name: values.name,
      role: values.role,
      openingCash: parseAmount(values.cash ?? DEFAULT_OPENING_CASH, '--cash'),
      label: 'cli',
    });
    console.log(`created ${created.role} "${created.name}" (user ${created.userId}${created.accountId ? `, account ${created.accountId}` : ''})`);
    console.log(`token: ${created.token}`);
    return 0;
  } finally {
    await db.close();
  }
}
