/**
 * `tachyon loadtest` answers every user mistake with one line that says how to fix it (exit 2), never a
 * stack trace; for a target on this machine it finds the demo admin token in the data directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/loadtest.ts';
import { demoCredentialFile } from '../../src/seed/demo-credentials.ts';

/** Nothing listens here (this suite's port range): setup fails to connect. */
const CLOSED = 'http://127.0.0.1:41498';

describe('tachyon loadtest: user mistakes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-loadtest-cli-'));
  const saved = { dataDir: process.env.TACHYON_DATA_DIR, admin: process.env.TACHYON_ADMIN_TOKEN };

  beforeAll(() => {
    process.env.TACHYON_DATA_DIR = join(dir, 'data');
    delete process.env.TACHYON_ADMIN_TOKEN;
    writeFileSync(join(dir, 'not-a-scenario.json'), 'nope');
  });
  afterAll(() => {
    if (saved.dataDir === undefined) delete process.env.TACHYON_DATA_DIR;
    else process.env.TACHYON_DATA_DIR = saved.dataDir;
    if (saved.admin !== undefined) process.env.TACHYON_ADMIN_TOKEN = saved.admin;
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(argv: string[]): Promise<{ code: number; err: string }> {
    const err: string[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return { code: await run(argv), err: err.join('\n') };
    } finally {
      error.mockRestore();
      log.mockRestore();
    }
  }

  it.each([
    [['--scenario', 'smoke', '--target', CLOSED, '--duration', '1s'], /give an admin token \(--admin-token TOKEN/],
    [['--scenario', 'smoke', '--target', CLOSED, '--admin-token', 'tyn_x'], /cannot reach http:\/\/127\.0\.0\.1:41498\/ .*start the platform \(npm start\) or pass --target URL/],
    [['--scenario', 'nope'], /neither a built-in .* nor an existing file/],
    [['--scenario', join(dir, 'not-a-scenario.json')], /cannot load the scenario .* a scenario is a \.ts\/\.js module or a \.yaml trading mix/],
    [['--scenario', 'smoke', '--baseline', join(dir, 'missing.json')], /no such file; save one first with --save-baseline/],
    [['--scenario', 'smoke', '--threshold', 'bogus'], /expected 'metric: expression'/],
    [['--scenario', 'smoke', '--duration', '5x'], /invalid duration: "5x"/],
    [['--scenario', 'smoke', '--target', 'http://example.com', '--admin-token', 'tyn_x'], /not in the allowed hosts/],
  ])('%j → one line with the fix', async (argv, message) => {
    const { code, err } = await cli(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.split('\n')).toHaveLength(1);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('finds the demo admin token kept in the data directory for a local target (and only then)', async () => {
    demoCredentialFile(join(dir, 'data')).write({ admin: 'tyn_kept-admin-token' });
    // Past the admin-token check: setup goes on to reach the (closed) target.
    expect((await cli(['--scenario', 'smoke', '--target', CLOSED])).err).toMatch(/cannot reach/);
    // A remote target never gets the local token (the host guardrail refuses it first anyway).
    expect((await cli(['--scenario', 'smoke', '--target', 'http://example.com'])).err).toMatch(/not in the allowed hosts/);
  });
});
