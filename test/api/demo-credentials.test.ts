/**
 * Demo credentials on a real data directory: the tokens a first start prints stay valid after a
 * restart (a reconnecting client keeps working), and `tachyon users token --name admin` shows the
 * admin token again; any other user gets a new, working token.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { run as usersToken } from '../../src/cli/users-token.ts';
import { buildPlatform } from '../../src/platform.ts';

describe('demo credentials across restarts of one data directory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-demo-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = testConfig({ dataDir, databaseUrl: undefined, demoToken: undefined, adminToken: undefined, seedDemo: true });

  async function withPlatform<T>(fn: (platform: Awaited<ReturnType<typeof buildPlatform>>) => Promise<T>): Promise<T> {
    const platform = await buildPlatform(config);
    try {
      return await fn(platform);
    } finally {
      await platform.stop();
    }
  }

  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    const env = process.env.TACHYON_DATA_DIR;
    process.env.TACHYON_DATA_DIR = dataDir;
    try {
      return { code: await usersToken(argv), out: out.join('\n'), err: err.join('\n') };
    } finally {
      if (env === undefined) delete process.env.TACHYON_DATA_DIR;
      else process.env.TACHYON_DATA_DIR = env;
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('keeps the printed tokens valid, and shows the admin token again', async () => {
    const first = await withPlatform(async (p) => p.demo!);
    expect(first.created).toBe(true);
    expect(first.adminToken).toMatch(/^tyn_/);
    expect(statSync(join(dataDir, 'demo-credentials.json')).mode & 0o777).toBe(0o600);

    const second = await withPlatform(async (p) => {
      const quote = await p.app.inject({ url: '/api/market-data/quotes/AAPL', headers: { authorization: `Bearer ${first.traderToken}` } });
      expect(quote.statusCode).toBe(200);
      const admin = await p.app.inject({ url: '/api/admin/flags', headers: { authorization: `Bearer ${first.adminToken}` } });
      expect(admin.statusCode).toBe(200);
      await p.users.create({ name: 'carol', role: 'trader', openingCash: 0 });
      return p.demo!;
    });
    expect(second).toEqual({ traderToken: first.traderToken, adminToken: first.adminToken, created: false });

    const shown = await cli(['--name', 'admin']);
    expect(shown).toMatchObject({ code: 0, out: first.adminToken });

    const carol = await cli(['--name', 'carol']);
    expect(carol.code).toBe(0);
    expect(carol.out).toMatch(/^tyn_/);
    await withPlatform(async (p) => {
      const res = await p.app.inject({ url: '/api/portfolio', headers: { authorization: `Bearer ${carol.out}` } });
      expect(res.statusCode).toBe(200);
    });

    const nobody = await cli(['--name', 'nobody']);
    expect(nobody.code).toBe(2);
    expect(nobody.err).toMatch(/^no user named "nobody": create one with/);
  }, 180_000);
});
