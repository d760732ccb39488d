/**
 * Child processes for benchmarks: the platform (the real `tachyon start`) and reference servers,
 * each in its own process so the load generator in the bench process does not share their event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_NODE_OPTIONS } from '../../src/kernel/node-options.ts';

export const BENCH_DEMO_TOKEN = 'bench-demo-token-0123456789';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';
/** The cached read the benches measure (bench:http's subject). */
export const BENCH_QUOTE_PATH = '/api/market-data/quotes/AAPL';
/** The platform as shipped, its rate limit and load-shedding threshold raised out of one load generator's reach. */
export const LIMITS_OUT_OF_REACH_ENV = { TACHYON_RATE_LIMIT: '1000000', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '60000' };

export interface Server {
  url: string;
  pid: number;
  /** Resident set size in bytes, read from /proc (Linux). */
  rss(): number;
  /** CPU time (user + system) the process has used so far, in seconds, read from /proc (Linux). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** BENCH_PORT_BASE: servers take free ports counting up from it (a range of one's own on a shared machine); else any free port. */
let nextPort = Number(process.env.BENCH_PORT_BASE ?? 0);

export async function freePort(): Promise<number> {
  for (let attempt = 0; nextPort > 0 && attempt < 100; attempt++) {
    const port = nextPort++;
    if ((await bindable(port)) !== undefined) return port;
  }
  const port = await bindable(0);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** The port a listener got on `port` (0: any), or undefined when it is taken. */
function bindable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

export async function waitFor(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new ExitedEarly(`server exited with ${child.exitCode} before answering ${url}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not answer ${url} within ${timeoutMs} ms`);
}

export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process in seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s on Linux). */
export function cpuSecondsOf(pid: number): number {
  try {
    // The command name (field 2) may hold spaces and parentheses: count fields after its last closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `tachyon start` as `npm start` does (its node options: startOptions) with a fresh embedded data directory (or
 * DATABASE_URL in `env`); `nodeArgs` go after those, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS
 * does not accept; a V8 option given twice takes the later value); `cwd`: the checkout to start (this one by
 * default).
 */
export async function startPlatform(env: Record<string, string> = {}, nodeArgs: string[] = [], cwd?: string): Promise<Server> {
  // A port free when checked can be taken before the child binds it (an outgoing connection's
  // ephemeral port on a busy machine): a child that exits before answering is started again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPlatformOnce(env, nodeArgs, cwd);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof ExitedEarly)) throw error;
    }
  }
}

class ExitedEarly extends Error {}

/**
 * The node options a checkout's `npm start` passes: this one's SERVER_NODE_OPTIONS, or an older checkout's
 * own start script (a before/after run compares each commit as it was started).
 */
function startOptions(cwd: string | undefined): readonly string[] {
  if (!cwd) return SERVER_NODE_OPTIONS;
  const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  const script = words.indexOf('bin/tachyon.js');
  if (words[0] !== 'node' || script < 0) throw new Error(`${cwd}'s start script is not "node <options> bin/tachyon.js start": ${manifest.scripts.start}`);
  return words.slice(1, script);
}

async function startPlatformOnce(env: Record<string, string>, nodeArgs: string[], cwd: string | undefined): Promise<Server> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-'));
  const child = spawn(process.execPath, [...startOptions(cwd), ...nodeArgs, 'bin/tachyon.js', 'start'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TACHYON_DATA_DIR: dataDir,
      TACHYON_DEMO_TOKEN: BENCH_DEMO_TOKEN,
      TACHYON_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      // No background seeding competing with the measurement; a bench that needs history sets it.
      TACHYON_SEED_DAYS: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    // Another checkout (an older commit in a temporary worktree) for before/after runs.
    ...(cwd ? { cwd } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  // A start that does not answer in time (a loaded machine) must not be left running.
  await waitFor(`${url}/api/health`, child, Number(process.env.BENCH_START_TIMEOUT_MS ?? 180_000)).catch(async (error: unknown) => {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    pid: child.pid!,
    rss: () => rssOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts a TypeScript reference server file (it must print `listening <port>`); `nodeArgs` as for startPlatform. */
export async function startReference(file: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'bin/run-ts.js', file], { env: { ...process.env, PORT: String(port), ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  // A reference that does not answer in time (a loaded machine) must not be left running either.
  await waitFor(url, child, Number(process.env.BENCH_START_TIMEOUT_MS ?? 30_000)).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  return { url, pid: child.pid!, rss: () => rssOf(child.pid!), cpuSeconds: () => cpuSecondsOf(child.pid!), stop: () => stopChild(child) };
}

/**
 * Environment for the instances of a `tachyon cluster` a benchmark starts on one PostgreSQL database and the
 * test Redis under a per-run key prefix: no seeding, no rate limit or shedding (the benchmark measures what
 * it drives), the bench tokens; `extra` adds or overrides variables.
 */
export function clusterBenchEnv(databaseUrl: string, redisUrl: string, prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    TACHYON_CACHE_PREFIX: `${prefix}cache`,
    TACHYON_BUS_CHANNEL: `${prefix}bus`,
    TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
    TACHYON_SEED_DAYS: '0',
    TACHYON_RATE_LIMIT: '0',
    TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
    TACHYON_DEMO_TOKEN: BENCH_DEMO_TOKEN,
    TACHYON_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}
