/**
 * Demo users on first start: a trader with a funded paper account and an admin. When
 * TACHYON_DEMO_TOKEN / TACHYON_ADMIN_TOKEN are set those values become (or stay) valid tokens. Other
 * tokens are kept in the data directory (demo-credentials.ts), so later starts print the same still
 * valid credentials; only when none is kept (another machine, a lost file) does a fresh demo token
 * replace the previous start-up one, so `npm start` always prints a working credential.
 */
import { hashToken } from '../auth/tokens.ts';
import { DEFAULT_OPENING_CASH, type UserStore } from '../auth/user-store.ts';
import type { TachyonConfig } from '../config/config.ts';
import { toUnits } from '../kernel/money.ts';
import type { DemoCredentialFile } from './demo-credentials.ts';

export const DEMO_TRADER = 'demo';
export const DEMO_ADMIN = 'admin';
export const DEMO_OPENING_CASH = toUnits(DEFAULT_OPENING_CASH);

export interface DemoCredentials {
  traderToken: string;
  /** Known when it was created now, comes from configuration or is kept in the data directory. */
  adminToken: string | undefined;
  created: boolean;
}

export async function seedDemoUsers(users: UserStore, config: Pick<TachyonConfig, 'demoToken' | 'adminToken'>, saved?: DemoCredentialFile): Promise<DemoCredentials> {
  const kept = saved?.read() ?? {};
  const trader = await users.findByName(DEMO_TRADER);
  let credentials: DemoCredentials;
  if (!trader) {
    const created = await users.create({ name: DEMO_TRADER, role: 'trader', openingCash: DEMO_OPENING_CASH, token: config.demoToken, label: 'startup' });
    const admin = (await users.findByName(DEMO_ADMIN))
      ? undefined
      : await users.create({ name: DEMO_ADMIN, role: 'admin', token: config.adminToken, label: 'startup' });
    credentials = { traderToken: created.token, adminToken: admin?.token, created: true };
  } else {
    const traderToken = config.demoToken
      ? await users.issueToken(trader.id, 'configured', { token: config.demoToken })
      : ((await stillValid(users, kept[DEMO_TRADER], DEMO_TRADER)) ?? (await users.issueToken(trader.id, 'startup', { revokeSameLabel: true })));
    const admin = await users.findByName(DEMO_ADMIN);
    let adminToken: string | undefined;
    if (admin && config.adminToken) adminToken = await users.issueToken(admin.id, 'configured', { token: config.adminToken });
    else if (admin) adminToken = await stillValid(users, kept[DEMO_ADMIN], DEMO_ADMIN);
    credentials = { traderToken, adminToken, created: false };
  }
  saved?.write({ ...kept, [DEMO_TRADER]: credentials.traderToken, ...(credentials.adminToken ? { [DEMO_ADMIN]: credentials.adminToken } : {}) });
  return credentials;
}

/** The kept token when it still opens that user's account (not revoked, not another database's). */
async function stillValid(users: UserStore, token: string | undefined, name: string): Promise<string | undefined> {
  if (!token) return undefined;
  const principal = await users.principalForHash(hashToken(token));
  return principal?.name === name ? token : undefined;
}
