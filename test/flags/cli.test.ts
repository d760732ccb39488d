/** `tachyon flags` against a listening platform: rollout, list, history, reset, and an experiment under traffic that prints its comparison. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/flags.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

const FLAG = 'http.etag';

describe('tachyon flags', () => {
  let t: TestPlatform;
  let url: string;

  beforeAll(async () => {
    t = await startTestPlatform(pglite);
    url = await t.platform.listen();
  }, 240_000);
  afterAll(() => t?.close());

  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await run([...args, '--target', url, '--admin-token', ADMIN_TOKEN]);
      return { code, out: lines.join('\n') };
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }

  it('rolls a flag out, lists it, shows its history and resets it', async () => {
    expect(await cli('rollout', FLAG, '--percent', '10', '--reason', 'try it')).toMatchObject({ code: 0, out: `${FLAG}: 10% of accounts (database; every instance follows within a second)` });
    expect((await cli('list')).out).toMatch(new RegExp(`${FLAG.replace('.', '\\.')}\\s+10% of accounts\\s+database`));
    expect(await cli('set', FLAG, 'off')).toMatchObject({ code: 0, out: expect.stringContaining(': off (database') });
    const history = (await cli('history', FLAG)).out.split('\n');
    expect(history[0]).toMatch(/admin {2}10% of accounts → off$/);
    expect(history[1]).toMatch(/admin {2}config → 10% of accounts {2}\(try it\)$/);
    expect((await cli('reset', FLAG)).out).toContain(': on (default');
    await expect(cli('set', FLAG, 'maybe')).rejects.toThrow(/on\|off/);
  });

  it('experiment: one command sets the rollout, measures both cohorts under traffic, prints the comparison and restores the flag', async () => {
    const traders = await Promise.all(Array.from({ length: 20 }, (_, i) => t.platform.users.create({ name: `cli-exp-${i}`, role: 'trader', label: 'test' })));
    let done = false;
    const traffic = (async () => {
      let sent = 0;
      // Traffic until the experiment has ended (and for at least one pass over the traders).
      while (!done || sent < traders.length) {
        const trader = traders[sent++ % traders.length]!;
        await t.platform.app.inject({ url: '/api/instruments?limit=3', headers: { authorization: `Bearer ${trader.token}` } });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const result = await cli('experiment', FLAG, '--percent', '50', '--duration', '2s', '--reason', 'cli test');
    done = true;
    await traffic;
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/experiment \d+ on http\.etag \(completed; 1 instance measured\)/);
    expect(result.out).toMatch(/on \(50%\)\s+\d+\s+[\d.]+/);
    expect(result.out).toMatch(/off \(the rest\)\s+\d+\s+[\d.]+/);
    expect(result.out).toMatch(/Mann-Whitney U: z = -?[\d.]+, p = [\d.e-]+/);
    expect(result.out).toMatch(/verdict: /);
    expect(result.out).toContain('the flag is back to its configuration');
    expect(t.platform.flags.get(FLAG)).toMatchObject({ source: 'default', rollout: { mode: 'on', experiment: null } });
  }, 60_000);
});
