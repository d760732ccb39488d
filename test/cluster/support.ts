/**
 * Helpers for the multi-process suites: `tachyon cluster` as a child process on a temp database,
 * its state file and HAProxy's view of its servers, and a steady mixed load (quotes, orders,
 * portfolio reads) on one account per virtual user that counts what failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

export const ADMIN_TOKEN = 'cluster-admin-token-0123456789';
export const DEMO_TOKEN = 'cluster-demo-token-0123456789';

export async function clusterPrerequisites(): Promise<boolean> {
  const haproxy = spawnSync('haproxy', ['-v']).status === 0;
  if (!haproxy) {
    if (process.env.CI === 'true') throw new Error('haproxy is not installed (CI=true: the cluster suite must run)');
    console.warn('\n!!! SKIPPED: haproxy is not installed; the cluster suite did not run.\n');
  }
  return haproxy && (await pgAvailable()) && (await redisAvailable());
}

/** Small and quiet instances: the suite is about processes and the load balancer, not the feed. */
function instanceEnv(databaseUrl: string, prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS_TEST_URL,
    TACHYON_CACHE_PREFIX: `${prefix}cache`,
    TACHYON_BUS_CHANNEL: `${prefix}bus`,
    TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
    TACHYON_INSTRUMENTS: '20',
    TACHYON_TICK_RATE: '20',
    TACHYON_SEED_DAYS: '0',
    TACHYON_ANALYSIS_THREADS: '1',
    TACHYON_DRAIN_DELAY_MS: '2500',
    // No load shedding: these suites test handover and failover on a shared 2-core machine, where the
    // surviving instances' stall while they take over accounts is not overload (shedding has its own test).
    TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0',
    TACHYON_ADMIN_TOKEN: ADMIN_TOKEN,
    TACHYON_DEMO_TOKEN: DEMO_TOKEN,
    LOG_LEVEL: 'warn',
  };
}

export interface ClusterState {
  url: string;
  stats: string;
  instances: Record<string, { port: number; pid: number | undefined; restarts: number }>;
}

export class ClusterProcess {
  private output = '';
  private constructor(
    readonly child: ChildProcess,
    readonly runDir: string,
    readonly db: TempDatabase,
    private readonly redisPrefix: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
  }

  /** Starts `tachyon cluster` and resolves once it printed its URL. */
  static async start(instances: number, ports: { port: number; statsPort: number; basePort: number }, extra: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<ClusterProcess & { url: string }> {
    const db = await createTempDatabase('cluster');
    const runDir = mkdtempSync(join(tmpdir(), 'tachyon-cluster-'));
    const args = ['bin/tachyon.js', 'cluster', '--instances', String(instances), '--port', String(ports.port), '--stats-port', String(ports.statsPort), '--base-port', String(ports.basePort), '--run-dir', runDir, ...(extra.args ?? [])];
    const prefix = redisPrefix('cluster');
    const child = spawn(process.execPath, args, { env: { ...instanceEnv(db.url, prefix), HOST: '127.0.0.1', ...extra.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const cluster = new ClusterProcess(child, runDir, db, prefix);
    for (;;) {
      const match = /URL\s+(http:\/\/[\d.]+:\d+)/.exec(cluster.output);
      if (match) return Object.assign(cluster, { url: match[1]! });
      if (child.exitCode !== null) throw new Error(`tachyon cluster exited early:\n${cluster.output}`);
      await sleep(200);
    }
  }

  get log(): string {
    return this.output;
  }

  state(): ClusterState {
    return JSON.parse(readFileSync(join(this.runDir, 'state.json'), 'utf8')) as ClusterState;
  }

  /** HAProxy's status of each backend server (UP, DOWN, …) from its stats CSV. */
  async serverStatus(): Promise<Record<string, string>> {
    const csv = await (await fetch(`${this.state().stats};csv`)).text();
    const rows = csv.split('\n').map((line) => line.split(','));
    const header = rows[0]!;
    const status = header.indexOf('status');
    return Object.fromEntries(rows.filter((r) => r[0] === 'tachyon' && /^i\d+$/.test(r[1] ?? '')).map((r) => [r[1]!, r[status]!]));
  }

  /** Waits until instance `name` runs under a pid other than `oldPid` and HAProxy shows every server up. */
  async restarted(name: string, oldPid: number | undefined, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const pid = this.state().instances[name]?.pid;
      // `UP 1/2` (one check failed on a busy machine) still takes traffic.
      if (pid && pid !== oldPid && Object.values(await this.serverStatus()).every((s) => s.startsWith('UP'))) return;
      await sleep(250);
    }
    throw new Error(`${name} did not come back within ${timeoutMs} ms`);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
      this.child.kill('SIGTERM');
      await exited;
    }
    // TACHYON_TEST_KEEP_LOGS=dir keeps every instance's and HAProxy's log (for a failure seen in CI).
    const keep = process.env.TACHYON_TEST_KEEP_LOGS;
    if (keep) cpSync(this.runDir, join(keep, `cluster-${Date.now()}`), { recursive: true, filter: (source) => !source.endsWith('.sock') });
    rmSync(this.runDir, { recursive: true, force: true });
    await this.db.drop();
    await deleteRedisKeys(this.redisPrefix);
    return this.child.exitCode;
  }
}

export interface LoadResult {
  total: number;
  failed: number;
  orders: number;
  /** Status or error of each failure, for the assertion message. */
  failures: string[];
  /** GETs sent again after their kept-alive connection to HAProxy closed before any answer (as HTTP lets a client do for idempotent requests). */
  resentReads: number;
}

/**
 * Virtual users, each with its own trader account, looping over a quote read, a market order and
 * a portfolio read until stopped. A failure is a network error or a 5xx; a 4xx (a risk rejection)
 * is an answer.
 */
export class SteadyLoad {
  readonly result: LoadResult = { total: 0, failed: 0, orders: 0, failures: [], resentReads: 0 };
  private running = true;
  private loops: Promise<void>[] = [];

  private constructor(
    private readonly url: string,
    private readonly tokens: string[],
    private readonly symbol: string,
  ) {}

  static async start(url: string, users: number): Promise<SteadyLoad> {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const tokens: string[] = [];
    for (let i = 0; i < users; i++) {
      const response = await fetch(`${url}/api/admin/users`, { method: 'POST', headers: admin, body: JSON.stringify({ name: `vu-${process.pid}-${Date.now()}-${i}`, role: 'trader', openingCash: 10_000_000 }) });
      if (response.status !== 201) throw new Error(`creating a user answered ${response.status}: ${await response.text()}`);
      tokens.push(((await response.json()) as { token: string }).token);
    }
    const instruments = (await (await fetch(`${url}/api/instruments?limit=1`, { headers: { authorization: `Bearer ${tokens[0]}` } })).json()) as { items: Array<{ symbol: string }> };
    const load = new SteadyLoad(url, tokens, instruments.items[0]!.symbol);
    load.loops = tokens.map((token) => load.loop(token));
    return load;
  }

  /** Resolves once at least `count` requests were sent (so one failure can be told from 0.1%), or after `timeoutMs`. */
  async atLeast(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.result.total < count && Date.now() < deadline) await sleep(100);
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await Promise.all(this.loops);
    return this.result;
  }

  private async loop(token: string): Promise<void> {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const order = JSON.stringify({ symbol: this.symbol, side: 'buy', type: 'market', quantity: 1 });
    while (this.running) {
      await this.request(`${this.url}/api/market-data/quotes/${this.symbol}`, { headers });
      await this.request(`${this.url}/api/orders`, { method: 'POST', headers, body: order }, true);
      await this.request(`${this.url}/api/portfolio`, { headers });
    }
  }

  private async request(url: string, init: RequestInit, isOrder = false): Promise<void> {
    this.result.total++;
    if (isOrder) this.result.orders++;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
        const body = await response.text();
        if (response.status >= 500) this.fail(`${init.method ?? 'GET'} ${new URL(url).pathname} ${response.status} ${body.slice(0, 160)}`);
        return;
      } catch (error) {
        const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
        // The client's own kept-alive connection to HAProxy closing as a request leaves (this test's
        // process stalls on a saturated machine) is not the cluster's failure: a GET is sent once more,
        // as HTTP lets any client do for an idempotent request; an order never is.
        if (init.method === undefined && attempt === 0 && (cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET')) {
          this.result.resentReads++;
          continue;
        }
        this.fail(`${init.method ?? 'GET'} ${new URL(url).pathname} ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
        return;
      }
    }
  }

  private fail(what: string): void {
    this.result.failed++;
    if (this.result.failures.length < 20) this.result.failures.push(what);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
