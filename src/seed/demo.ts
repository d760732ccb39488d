/**
 * Demo users on first start: a trader with a funded paper account and an admin. Their tokens are
 * printed once. When TACHYON_DEMO_TOKEN / TACHYON_ADMIN_TOKEN are set those values become (or stay)
 * valid tokens, so scripts can know them across restarts. On later starts without them, a fresh
 * demo token replaces the previous start-up token so `npm start` always prints a working credential.
 */
import { DEFAULT_OPENING_CASH, type UserStore } from '../auth/user-store.ts';
import type { TachyonConfig } from '../config/config.ts';
import { toUnits } from '../kernel/money.ts';

export const DEMO_TRADER = 'demo';
export const DEMO_ADMIN = 'admin';
export const DEMO_OPENING_CASH = toUnits(DEFAULT_OPENING_CASH);

export interface DemoCredentials {
  traderToken: string;
  /** Printed only when it was created now or comes from configuration. */
  adminToken: string | undefined;
  created: boolean;
}

export async function seedDemoUsers(users: UserStore, config: Pick<TachyonConfig, 'demoToken' | 'adminToken'>): Promise<DemoCredentials> {
  const trader = await users.findByName(DEMO_TRADER);
  if (!trader) {
    const created = await users.create({ name: DEMO_TRADER, role: 'trader', openingCash: DEMO_OPENING_CASH, token: config.demoToken, label: 'startup' });
    const admin = (await users.findByName(DEMO_ADMIN))
      ? undefined
      : await users.create({ name: DEMO_ADMIN, role: 'admin', token: config.adminToken, label: 'startup' });
    return { traderToken: created.token, adminToken: admin?.token, created: true };
  }
  const traderToken = config.demoToken
    ? await users.issueToken(trader.id, 'configured', { token: config.demoToken })
    : await users.issueToken(trader.id, 'startup', { revokeSameLabel: true });
  let adminToken: string | undefined;
  const admin = await users.findByName(DEMO_ADMIN);
  if (admin && config.adminToken) adminToken = await users.issueToken(admin.id, 'configured', { token: config.adminToken });
  return { traderToken, adminToken, created: false };
}
