/**
 * Every command in the README's `sh` blocks (and in docs/*.md `sh` blocks) runs as written against a
 * started platform: T and A hold the demo trader and admin tokens, `localhost:3000` points at this
 * test's port, the CLI shares the platform's database (DATABASE_URL) and data directory (where the
 * demo credentials are kept), and curl fails on an HTTP error (a .curlrc with `fail`). Commands that
 * are long-running or would replace the platform are listed in SKIPPED with the reason.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { createTempDatabase, pgAvailable, type TempDatabase } from '../support/servers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** From this test's range (29200-29299), so the rewritten commands name a port nobody else uses. */
const PORT = 29_200 + (process.pid % 100);

/** Commands not run, each with why: matched against the start of the command as written. */
const SKIPPED: Array<{ prefix: string; reason: string }> = [
  { prefix: 'npm install && npm start', reason: 'installs and serves until stopped; this test starts the platform itself' },
  { prefix: 'npm test', reason: 'the whole suite, which contains this test' },
  { prefix: 'npm run tachyon -- seed --days 5', reason: 'long-running: loads 14.4M rows (the seeder has its own tests)' },
  { prefix: 'DATABASE_URL=', reason: 'serves until stopped (scaled-out instances; test/realtime/cluster.test.ts runs several)' },
];
/** Commands whose verdict depends on the machine's speed: they must run (exit 0), or report a failed threshold (99). */
const TIMED = ['npm run tachyon -- loadtest'];

interface Command {
  file: string;
  text: string;
}

/** The `sh` blocks' commands: continuation lines joined, comments and blank lines dropped. */
export function shellCommands(file: string, markdown: string): Command[] {
  const commands: Command[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    let pending = '';
    for (const raw of block[1]!.split('\n')) {
      const line = pending ? raw.trim() : raw;
      if (!pending && (line.trim() === '' || line.trim().startsWith('#'))) continue;
      if (line.endsWith('\\')) {
        pending += line.slice(0, -1).trimEnd() + ' ';
        continue;
      }
      commands.push({ file, text: (pending + line).trim() });
      pending = '';
    }
  }
  return commands;
}

function documentedCommands(): Command[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) => shellCommands(file, readFileSync(join(ROOT, file), 'utf8')));
}

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const withServer = await pgAvailable();
const commands = documentedCommands();

describe.skipIf(!withServer)('README and docs commands, run as written', () => {
  let platform: Platform;
  let database: TempDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const outExisted = readdirSync(ROOT).includes('out');

  beforeAll(async () => {
    database = await createTempDatabase('readme');
    dir = mkdtempSync(join(tmpdir(), 'tachyon-readme-'));
    const dataDir = join(dir, 'data');
    platform = await buildPlatform(testConfig({ port: PORT, host: '127.0.0.1', databaseUrl: database.url, dataDir, demoToken: undefined, adminToken: undefined }));
    // What the first start's background seeding gives the commands (predictions, backtests): history of the tour's symbols.
    const tour = platform.marketData.instruments.filter((i) => i.symbol === 'AAPL' || i.symbol === 'MSFT');
    await seedHistory(platform.db, { instruments: tour, marketClock: platform.marketData.marketClock, days: 2, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: platform.config.market.seed });
    await platform.listen();
    writeFileSync(join(dir, '.curlrc'), 'fail\nsilent\nshow-error\n');
    const { TACHYON_ADMIN_TOKEN: _admin, TACHYON_DEMO_TOKEN: _demo, ...inherited } = process.env;
    env = {
      ...inherited,
      T: platform.demo!.traderToken,
      A: platform.demo!.adminToken!,
      DATABASE_URL: database.url,
      TACHYON_DATA_DIR: dataDir,
      CURL_HOME: dir,
      LOG_LEVEL: 'warn',
    };
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!outExisted) rmSync(join(ROOT, 'out'), { recursive: true, force: true });
  });

  it('finds the tour in the README, and every skipped command is still there', () => {
    expect(commands.filter((c) => c.file === 'README.md').length).toBeGreaterThan(15);
    for (const { prefix } of SKIPPED) expect(commands.some((c) => c.text.startsWith(prefix)), prefix).toBe(true);
  });

  for (const command of commands) {
    const skipped = SKIPPED.find((s) => command.text.startsWith(s.prefix));
    const title = `${command.file}: ${command.text.length > 110 ? command.text.slice(0, 107) + '…' : command.text}`;
    if (skipped) {
      it.skip(`${title} (skipped: ${skipped.reason})`, () => {});
      continue;
    }
    it(title, async () => {
      const text = command.text.replaceAll('localhost:3000', `localhost:${PORT}`).replaceAll('127.0.0.1:3000', `127.0.0.1:${PORT}`);
      const result = await run(text, env);
      const accepted = TIMED.some((prefix) => command.text.startsWith(prefix)) ? [0, 99] : [0];
      expect(accepted, `exit ${result.code}\n${result.stderr.slice(-2000)}\n${result.stdout.slice(-2000)}`).toContain(result.code);
      // A user-facing command never answers with a stack trace.
      expect(result.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    }, 150_000);
  }
});
