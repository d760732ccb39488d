/**
 * A first run as a new user sees it, with the real `tachyon` command: the demo listens on loopback
 * unless HOST says otherwise (and warns when it prints tokens on another address), the banner is
 * short, the configuration is `tachyon config` with secrets redacted, and the maintenance commands
 * work beside the running server (through its API) with one-line answers to mistakes.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MALLOC_MMAP_THRESHOLD_BYTES, mallocTuning, tunablesSetThreshold } from '../../src/kernel/malloc-tuning.ts';
import { killLeftovers, runTachyon, spawnTachyon, type TachyonChild } from '../support/cli.ts';
import { accepts } from '../support/servers.ts';
import { freePort } from '../trading/server-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-first-run-'));
const ADMIN_TOKEN = 'first-run-admin-token-0123456789';
// No HOST: the default is under test. One day of history for 20 instruments: a short background load.
// No load shedding: a just-started server on a shared 2-core machine lags past 50 ms and answers 503.
const ENV: Record<string, string> = { TACHYON_DATA_DIR: dataDir, TACHYON_INSTRUMENTS: '20', TACHYON_TICK_RATE: '0', TACHYON_SEED_DAYS: '1', LOG_LEVEL: 'info', PORT: '0', TACHYON_ADMIN_TOKEN: ADMIN_TOKEN, TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0' };


const tachyon = (args: string[], env: Record<string, string> = {}) => spawnTachyon(args, { ...ENV, ...env });
const run = (args: string[], env: Record<string, string> = {}) => runTachyon(args, { ...ENV, ...env });

const servers: TachyonChild[] = [];

async function start(env: Record<string, string> = {}): Promise<{ child: TachyonChild; base: string; banner: string }> {
  const child = tachyon(['start'], env);
  servers.push(child);
  for (;;) {
    const out = child.output();
    const match = /API\s+(http:\/\/[\d.]+:\d+)\/api/.exec(out);
    // The banner ends with its Settings line.
    if (match && /Settings .*\n/.test(out)) return { child, base: match[1]!, banner: out.slice(out.indexOf('Tachyon '), out.indexOf('\n', out.indexOf('Settings')) + 1) };
    const exited = await Promise.race([child.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]);
    if (exited) throw new Error(`tachyon start exited early:\n${out}`);
  }
}

/** SIGTERM, then the exit code; a death by signal (code null) is named with the server's last output. */
async function stop(child: TachyonChild): Promise<number | string | null> {
  child.kill('SIGTERM');
  const code = await child.exited;
  return code ?? `killed by ${child.signalCode}; last output:\n${child.output().slice(-1500)}`;
}

const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

afterAll(async () => {
  await killLeftovers(servers);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('first run', () => {
  it('`tachyon config` prints the effective configuration with secrets redacted', async () => {
    const { code, output } = await run(['config'], { DATABASE_URL: 'postgres://app:s3cret@db.example:5432/tachyon' });
    expect(code).toBe(0);
    const config = JSON.parse(output);
    expect(config).toMatchObject({ host: '127.0.0.1', adminToken: '[redacted]', databaseUrl: 'postgres://app:redacted@db.example:5432/tachyon', seedDays: 1 });
    expect(output).not.toContain(ADMIN_TOKEN);
    expect(output).not.toContain('s3cret');
  });

  it('listens on loopback by default with a short banner, and the CLI works beside it through its API', async () => {
    const { child, base, banner } = await start();
    try {
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(base).port);
      expect(await accepts(port)).toBe(true);
      if (externalAddress) expect(await accepts(port, externalAddress)).toBe(false);

      // URLs, tokens, what is loading, where the settings are: no configuration dump, no warning on loopback.
      expect(banner.trim().split('\n').length).toBeLessThanOrEqual(8);
      expect(banner).toMatch(/Trader +tyn_\S+/);
      expect(banner).toContain(`Admin    ${ADMIN_TOKEN}`);
      expect(banner).toMatch(/Loading +1 day of 1-minute history for 20 instruments/);
      expect(banner).not.toContain('WARNING');
      expect(child.output()).not.toContain('"seedDays"');
      // The control file holding the CLI's token is for the data directory's owner only.
      expect(statSync(join(dataDir, 'server.json')).mode & 0o077).toBe(0);

      // The embedded default fixes glibc's mmap threshold at start (kernel/malloc-tuning.ts): what bench:memory's rows rest on.
      const memory = (await (await fetch(`${base}/api/performance/metrics/memory`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { malloc: { mmapThresholdBytes: number | null } | null };
      expect(memory.malloc).toEqual(mallocTuning() && { glibcTunables: process.env.GLIBC_TUNABLES ?? '', mmapThresholdBytes: tunablesSetThreshold() ? null : MALLOC_MMAP_THRESHOLD_BYTES });

      const created = await run(['users', 'create', '--name', 'beside', '--role', 'trader', '--opening-cash', '2500']);
      expect(created.code, created.output).toBe(0);
      const token = /token: (\S+)/.exec(created.output)![1]!;
      const portfolio = await fetch(`${base}/api/portfolio`, { headers: { authorization: `Bearer ${token}` } });
      expect(portfolio.status).toBe(200);
      expect(JSON.stringify(await portfolio.json())).toContain('2500');

      const duplicate = await run(['users', 'create', '--name', 'beside', '--role', 'trader']);
      expect(duplicate.code).toBe(2);
      expect(duplicate.output.trim()).toBe('tachyon users: a user named "beside" already exists: choose another --name');

      const unknown = await run(['users', 'create', '--name', 'x', '--role', 'trader', '--cahs', '5']);
      expect(unknown.code).toBe(2);
      expect(unknown.output.trim().split('\n')).toHaveLength(1);

      const migrated = await run(['migrate']);
      expect(migrated.code).toBe(0);
      expect(migrated.output).toMatch(/^database is up to date: the running server \(pid \d+/);

      // The first start's load must be over: a second one is refused while it runs (409). A failure bound:
      // the whole test took 121 s at load 25-40 (docs/testing.md).
      await expect
        .poll(async () => ((await (await fetch(`${base}/api/health/detailed`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { history: { state: string } }).history.state, { timeout: 120_000, interval: 200 })
        .toBe('loaded');
      const seeded = await run(['seed', '--days', '1']);
      expect(seeded.code, seeded.output).toBe(0);
      expect(seeded.output).toMatch(/loads the history in the background[\s\S]*seeded [\d.]+k? bars through the server/);

      const reconciled = await run(['reconcile']);
      expect(reconciled.code, reconciled.output).toBe(0);
      expect(reconciled.output).toMatch(/reconcile: ok \(\d+ accounts/);
    } finally {
      expect(await stop(child)).toBe(0);
    }
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
  }, 300_000);

  it('`seed` without --days says what it loads: the first start’s window, not five days', async () => {
    const seeded = await run(['seed']);
    expect(seeded.code, seeded.output).toBe(0);
    expect(seeded.output).toMatch(/^seeding 1 trading day, as a first start does \(TACHYON_SEED_DAYS\)/);
    expect(seeded.output).toMatch(/× 1 trading days/);
  }, 120_000);

  it('warns loudly when it prints tokens on a non-loopback address', async () => {
    const { child, banner } = await start({ HOST: '0.0.0.0', TACHYON_SEED_DAYS: '0' });
    try {
      expect(banner).toMatch(/WARNING +listening on 0\.0\.0\.0 \(HOST\): anyone who can reach this port can use the tokens below/);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 120_000);

  it('stops gracefully on a SIGTERM sent the moment its health check first answers', async () => {
    // Signals are handled before the server answers anything: a supervisor may stop it at once.
    const port = await freePort();
    const child = tachyon(['start'], { PORT: String(port), TACHYON_SEED_DAYS: '0' });
    servers.push(child);
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/api/health`).then((res) => res.ok, () => false);
      if (up) break;
      if (child.exitCode !== null) throw new Error(`tachyon start exited early:\n${child.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await stop(child), child.output()).toBe(0);
    expect(child.output()).toContain('shutting down');
  }, 120_000);
});
