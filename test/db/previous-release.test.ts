/**
 * The previous release against the current schema: during a rolling deploy (or after a code
 * roll-back) the old code serves a database the new code migrated, so migrations must only expand.
 * The previous release is a git commit: TACHYON_PREVIOUS_RELEASE (a tag or commit), else the parent
 * of the commit that added the newest migration (the last code that did not know it). Its tree is
 * exported with `git archive` into a temp directory (node_modules linked to this checkout's: a package
 * the previous release imports and this one dropped stays a devDependency while that release is the
 * previous one, e.g. @fastify/under-pressure), the
 * database is migrated by this code, and the old `tachyon start` is smoke-tested on it: health, an
 * order, the portfolio. Without git history (not a repository, a shallow clone missing the commit)
 * the suite is skipped loudly — under CI=true too, since there is no previous release to run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import { openEmbedded } from '../../src/db/pglite.ts';
import { openServer } from '../../src/db/pg.ts';
import { createTempDatabase, pgAvailable, type TempDatabase } from '../support/servers.ts';
import { freePort } from '../trading/server-process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN = 'previous-release-admin-0123456789';
const TRADER = 'previous-release-trader-0123456789';
const BOOT_TIMEOUT_MS = 240_000;

function git(...args: string[]): string | undefined {
  const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The commit to run, or why there is none. */
function previousRelease(): { commit: string; label: string } | { skip: string } {
  if (git('rev-parse', '--is-inside-work-tree') !== 'true') return { skip: 'not a git checkout' };
  const asked = process.env.TACHYON_PREVIOUS_RELEASE;
  const newest = loadMigrations().at(-1)!;
  const file = `src/db/migrations/${String(newest.version).padStart(3, '0')}_${newest.name}.sql`;
  const adding = asked ? undefined : git('log', '--diff-filter=A', '--format=%H', '-1', '--', file);
  // Not committed yet: HEAD is the code without it.
  const rev = asked ?? (adding ? `${adding}^` : 'HEAD');
  const commit = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  if (!commit) {
    const shallow = git('rev-parse', '--is-shallow-repository') === 'true';
    return { skip: `${rev} is not in this clone${shallow ? ' (a shallow clone: fetch with --unshallow to run this suite)' : ''}` };
  }
  return { commit, label: asked ? `${asked} (${commit.slice(0, 10)})` : `${commit.slice(0, 10)}, the code before ${file}` };
}

const release = previousRelease();
if ('skip' in release) console.warn(`\n!!! SKIPPED: the previous release cannot be run against the current schema: ${release.skip}.\n`);

interface Engine {
  name: string;
  /** Migrates a fresh database with this code; returns the environment that points the old release at it. */
  prepare(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    name: 'postgres',
    async prepare() {
      const temp: TempDatabase = await createTempDatabase('previous');
      const db = await openServer({ url: temp.url, poolSize: 2 });
      await migrate(db);
      await db.close();
      // The data directory keeps only files (demo credentials) beside a server database.
      const dir = mkdtempSync(join(tmpdir(), 'tachyon-previous-files-'));
      return {
        env: { DATABASE_URL: temp.url, TACHYON_DATA_DIR: dir },
        async cleanup() {
          await temp.drop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'pglite',
    async prepare() {
      const dir = mkdtempSync(join(tmpdir(), 'tachyon-previous-data-'));
      const db = await openEmbedded(dir);
      await migrate(db);
      await db.close();
      return { env: { TACHYON_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
];
const hasPg = 'skip' in release ? false : await pgAvailable();

describe.runIf(!('skip' in release))(`the previous release (${'skip' in release ? 'none' : release.label}) on the current schema`, () => {
  const children: ChildProcess[] = [];
  let tree: string | undefined;

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  function exportTree(): string {
    if (tree) return tree;
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-previous-'));
    tree = dir;
    const archive = spawnSync('sh', ['-c', `git archive --format=tar ${(release as { commit: string }).commit} | tar -x -C "${dir}"`], { cwd: ROOT, encoding: 'utf8' });
    if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
    return dir;
  }

  it.each(ENGINES.filter((e) => e.name !== 'postgres' || hasPg))('serves health, an order and the portfolio on a database this code migrated ($name)', async (engine) => {
    const dir = exportTree();
    expect(existsSync(join(dir, 'src/cli/main.ts'))).toBe(true);
    const { env, cleanup } = await engine.prepare();
    const port = await freePort();
    let output = '';
    // No Redis, and no server database unless this engine is one: the old release runs alone on what this code migrated.
    const inherited = { ...process.env };
    delete inherited.REDIS_URL;
    delete inherited.DATABASE_URL;
    const child = spawn(process.execPath, ['bin/run-ts.js', 'src/cli/main.ts', 'start'], {
      cwd: dir,
      env: {
        ...inherited,
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        TACHYON_ADMIN_TOKEN: ADMIN,
        TACHYON_DEMO_TOKEN: TRADER,
        TACHYON_SEED_DAYS: '0',
        TACHYON_INSTRUMENTS: '20',
        TACHYON_TICK_RATE: '20',
        TACHYON_ANALYSIS_THREADS: '1',
        TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + BOOT_TIMEOUT_MS;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the previous release exited (${child.exitCode}):\n${output.slice(-3000)}`);
        const ready = await fetch(`${base}/api/health/ready`).then((r) => r.status, () => 0);
        if (ready === 200) break;
        if (Date.now() > deadline) throw new Error(`the previous release was not ready in ${BOOT_TIMEOUT_MS / 1000} s:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const trader = { authorization: `Bearer ${TRADER}` };
      expect((await fetch(`${base}/api/health`)).status).toBe(200);
      const { items } = (await (await fetch(`${base}/api/instruments?limit=1`, { headers: trader })).json()) as { items: Array<{ symbol: string }> };
      const symbol = items[0]!.symbol;
      const order = await fetch(`${base}/api/orders`, {
        method: 'POST',
        headers: { ...trader, 'content-type': 'application/json' },
        body: JSON.stringify({ symbol, side: 'buy', type: 'market', quantity: 1, timeInForce: 'day', clientOrderId: 'previous-release-1' }),
      });
      const placed = (await order.json()) as { status?: string };
      expect(order.status, JSON.stringify(placed)).toBe(201);
      expect(placed.status).toBe('filled');
      const portfolio = await fetch(`${base}/api/portfolio`, { headers: trader });
      expect(portfolio.status).toBe(200);
      expect(JSON.stringify(await portfolio.json())).toContain(symbol);
    } finally {
      child.kill('SIGTERM');
      const exited = await Promise.race([new Promise((r) => child.once('exit', () => r(true))), new Promise((r) => setTimeout(r, 20_000, false))]);
      if (!exited) child.kill('SIGKILL');
      await cleanup();
    }
  }, BOOT_TIMEOUT_MS + 60_000);
});
