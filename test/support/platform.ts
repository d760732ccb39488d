/** Builds whole platforms in-process for API tests, on either storage engine. */
import { testConfig } from '../../src/config/config.ts';
import type { TachyonConfig } from '../../src/config/config.ts';
import type { Clock } from '../../src/kernel/clock.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import type { Engine } from './engines.ts';

export const DEMO_TOKEN = 'test-demo-token-0123456789';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestPlatform {
  platform: Platform;
  /** Authorization headers for the demo trader and the admin. */
  trader: { authorization: string };
  admin: { authorization: string };
  close(): Promise<void>;
}

export async function startTestPlatform(engine: Engine, overrides: Partial<TachyonConfig> = {}, options: { clock?: Clock } = {}): Promise<TestPlatform> {
  const { db, url, cleanup } = await engine.open();
  const config = testConfig({ demoToken: DEMO_TOKEN, adminToken: ADMIN_TOKEN, databaseUrl: url, ...overrides });
  const platform = await buildPlatform(config, { db, ...options });
  return {
    platform,
    trader: { authorization: `Bearer ${DEMO_TOKEN}` },
    admin: { authorization: `Bearer ${ADMIN_TOKEN}` },
    async close() {
      await platform.stop();
      await cleanup();
    },
  };
}
