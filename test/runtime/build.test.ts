/**
 * The production build: dist/ follows the sources (a changed, added or removed file rebuilds, and a
 * removed one leaves nothing behind), and the compiled platform starts on a fresh data directory
 * with plain node: migrations found, initdb child, analysis worker threads and load-test threads
 * all from compiled files, with no TypeScript loader (no esbuild child) in the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, build, ensureBuilt, fingerprint, isFresh } from '../../scripts/build.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'tachyon-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A two-module project with a migration, built with the real tsconfig files and compiler. */
function miniProject(): string {
  const root = mkdtempSync(join(scratch, 'project-'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) copyFileSync(join(ROOT, file), join(root, file));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'src/db/migrations'), { recursive: true });
  writeFileSync(join(root, 'src/main.ts'), "import { answer } from './answer.ts';\nconsole.log(answer());\n");
  writeFileSync(join(root, 'src/answer.ts'), 'export const answer = (): number => 41;\n');
  writeFileSync(join(root, 'src/db/migrations/001_x.sql'), 'select 1;\n');
  return root;
}

function runNode(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('dist/ follows the sources', () => {
  it('builds runnable .js with rewritten imports and copied assets, and rebuilds only when an input changed', async () => {
    const root = miniProject();
    const quiet = { log: () => {} };
    expect(isFresh(root)).toBe(false);
    build(root, quiet);
    expect(isFresh(root)).toBe(true);
    expect(readFileSync(join(root, 'dist/src/main.js'), 'utf8')).toMatch(/from ["']\.\/answer\.js["']/);
    expect(existsSync(join(root, 'dist/src/main.js.map'))).toBe(true);
    expect(readFileSync(join(root, 'dist/src/db/migrations/001_x.sql'), 'utf8')).toBe('select 1;\n');
    expect((await runNode(['dist/src/main.js'], { cwd: root })).output.trim()).toBe('41');

    // Fresh: nothing is rebuilt (a marker left in dist/ survives).
    writeFileSync(join(root, 'dist/marker'), '');
    ensureBuilt(root, quiet);
    expect(existsSync(join(root, 'dist/marker'))).toBe(true);

    // A changed source rebuilds, whatever its modification time says.
    const before = fingerprint(root);
    writeFileSync(join(root, 'src/answer.ts'), 'export const answer = (): number => 42;\n');
    expect(fingerprint(root)).not.toBe(before);
    ensureBuilt(root, quiet);
    expect(existsSync(join(root, 'dist/marker'))).toBe(false);
    expect((await runNode(['dist/src/main.js'], { cwd: root })).output.trim()).toBe('42');

    // An added file rebuilds; a removed one leaves no compiled orphan behind.
    writeFileSync(join(root, 'src/extra.ts'), 'export {};\n');
    expect(isFresh(root)).toBe(false);
    ensureBuilt(root, quiet);
    expect(existsSync(join(root, 'dist/src/extra.js'))).toBe(true);
    rmSync(join(root, 'src/extra.ts'));
    expect(isFresh(root)).toBe(false);
    ensureBuilt(root, quiet);
    expect(existsSync(join(root, 'dist/src/extra.js'))).toBe(false);
    // No staging directories left next to dist/.
    expect(readdirSync(root).filter((name) => name.startsWith('.dist-'))).toEqual([]);
  }, 120_000);

  it('a failed build names the error and keeps the previous output', () => {
    const root = miniProject();
    build(root, { log: () => {} });
    writeFileSync(join(root, 'src/answer.ts'), 'export const answer = (: number => 42;\n');
    expect(() => ensureBuilt(root, { log: () => {} })).toThrow(/the build failed:[\s\S]*answer\.ts/);
    expect(existsSync(join(root, 'dist/src/main.js'))).toBe(true);
  }, 120_000);

  it('an install that ships only dist/ (no sources) runs it as it is', () => {
    const root = mkdtempSync(join(scratch, 'image-'));
    expect(ensureBuilt(root)).toBe(join(root, 'dist'));
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });
});

type Server = ChildProcess & { output: () => string; exited: Promise<number | null> };

/** `node dist/src/cli/main.js start` as `npm start` runs it, on a fresh data directory. */
async function startCompiled(dataDir: string): Promise<{ server: Server; base: string; token: string }> {
  const env = { TACHYON_DATA_DIR: dataDir, TACHYON_INSTRUMENTS: '20', TACHYON_TICK_RATE: '0', TACHYON_SEED_DAYS: '1', LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1' };
  const child = spawn(process.execPath, ['--enable-source-maps', join(ensureBuilt(), 'src/cli/main.js'), 'start'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server = Object.assign(child, { output: () => output, exited });
  for (;;) {
    const api = /API\s+(http:\/\/[\d.]+:\d+)\/api/.exec(output);
    const trader = /Trader\s+(tyn_\S+)/.exec(output);
    if (api && trader) return { server, base: api[1]!, token: trader[1]! };
    const ended = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]);
    if (ended) throw new Error(`the compiled server exited early:\n${output}`);
  }
}

/** Processes whose parent is `pid` (Linux /proc), by executable name. */
function childCommands(pid: number): string[] {
  if (!existsSync('/proc/self/stat')) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
        return Number(rest?.split(' ')[1]) === pid ? [comm!] : [];
      } catch {
        return []; // exited meanwhile
      }
    });
}

describe('the compiled platform', () => {
  it('starts on a fresh data directory with plain node and serves from compiled workers, without a TypeScript loader', async () => {
    const dataDir = join(scratch, 'data');
    const { server, base, token } = await startCompiled(dataDir);
    try {
      const auth = { authorization: `Bearer ${token}` };
      // Migrations ran (from dist/src/db/migrations) and the demo data is there.
      const quote = await fetch(`${base}/api/market-data/quotes/AAPL`, { headers: auth });
      expect(quote.status).toBe(200);
      // A backtest (on the analysis worker threads) once the first start's history load has finished.
      const now = Date.now();
      const backtestRequest = () => fetch(`${base}/api/backtests`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ symbols: ['AAPL', 'MSFT'], interval: '5m', from: new Date(now - 86_400_000).toISOString(), to: new Date(now).toISOString(), strategy: { type: 'sma_crossover' } }),
      });
      let backtest = await backtestRequest();
      for (let i = 0; backtest.status === 503 && i < 300; i++) {
        await new Promise((r) => setTimeout(r, 200));
        backtest = await backtestRequest();
      }
      expect(backtest.status, await backtest.clone().text()).toBe(200);
      expect(((await backtest.json()) as { metrics: { trades: number } }).metrics).toHaveProperty('trades');

      // A user's .ts scenario on load-test threads: the compiled CLI loads it through tsx, scoped to that import.
      const scenario = join(scratch, 'mine.ts');
      writeFileSync(scenario, [
        "const options: { executor: { type: 'constant-vus'; vus: number; duration: string } } = { executor: { type: 'constant-vus', vus: 1, duration: '1s' } };",
        'export { options };',
        "export default async function (ctx: { http: { get(url: string): Promise<unknown> } }): Promise<void> { await ctx.http.get('/api/health'); }",
        '',
      ].join('\n'));
      const run = await runNode([join(ensureBuilt(), 'src/cli/main.js'), 'loadtest', '--scenario', scenario, '--target', base, '--workers', '2', '--duration', '1s']);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/iterations/);

      // Nothing in the server loaded TypeScript: tsx would have started its esbuild service.
      expect(childCommands(server.pid!)).not.toContain('esbuild');
    } finally {
      server.kill('SIGTERM');
      expect(await server.exited, server.output()).toBe(0);
    }
  }, 180_000);
});
