/**
 * N Tachyon instances on one machine behind HAProxy: the local and CI form of the scaled
 * deployment (`tachyon cluster`, bench:cluster). Each instance is the installed binary
 * (`bin/tachyon.js start`) on its own port; HAProxy is configured from a file generated into the
 * run directory. The first instance starts alone (it migrates, seeds the demo users and the
 * history), the others once it is ready. `state.json` in the run directory names every process's
 * pid and port for operators and tests.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHaproxyConfig } from './haproxy-config.ts';
import { Supervisor, type SupervisorOptions } from './supervisor.ts';
import { projectPath } from '../kernel/project-files.ts';

export interface LocalClusterOptions {
  instances: number;
  /** HAProxy's frontend: the one URL clients use. */
  host: string;
  port: number;
  statsPort: number;
  /** Instance i listens on basePort + i - 1 (127.0.0.1 only: clients go through HAProxy). */
  basePort: number;
  runDir: string;
  /** Environment of every instance (DATABASE_URL, REDIS_URL, tokens, …). */
  env: NodeJS.ProcessEnv;
  /** Longest wait for an instance to become ready. */
  readyTimeoutMs?: number;
  report?: SupervisorOptions['report'];
}

const TACHYON_BIN = projectPath('bin/tachyon.js');
export const HAPROXY = 'haproxy';

export class LocalCluster {
  readonly supervisor: Supervisor;
  private readonly ports = new Map<string, number>();

  private constructor(readonly options: LocalClusterOptions) {
    this.supervisor = new Supervisor({
      report: (event) => {
        options.report?.(event);
        if (event.event === 'started') this.writeState();
      },
    });
  }

  get url(): string {
    return `http://${this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host}:${this.options.port}`;
  }

  get statsUrl(): string {
    return `http://${this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host}:${this.options.statsPort}/stats`;
  }

  get socketPath(): string {
    return join(this.options.runDir, 'haproxy.sock');
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(options);
    try {
      const names = Array.from({ length: options.instances }, (_, i) => `i${i + 1}`);
      names.forEach((name, i) => cluster.ports.set(name, options.basePort + i));
      // The first instance migrates and seeds alone; the others must not seed history again.
      await cluster.startInstance(names[0]!, {});
      await Promise.all(names.slice(1).map((name) => cluster.startInstance(name, { TACHYON_SEED_DAYS: '0' })));
      const configPath = join(options.runDir, 'haproxy.cfg');
      writeFileSync(
        configPath,
        renderHaproxyConfig({
          bind: { host: options.host, port: options.port },
          statsPort: options.statsPort,
          socketPath: cluster.socketPath,
          servers: names.map((name) => ({ name, host: '127.0.0.1', port: cluster.ports.get(name)! })),
        }),
      );
      // -db: stay in the foreground, so the supervisor sees it exit.
      cluster.supervisor.add({ name: 'haproxy', command: HAPROXY, args: ['-db', '-f', configPath], env: process.env, logFile: join(options.runDir, 'haproxy.log') });
      await waitFor(`${cluster.url}/api/health/ready`, options.readyTimeoutMs ?? 120_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Instances first (each drains: readiness 503, HAProxy stops sending, in-flight work ends), then HAProxy. */
  async stop(): Promise<void> {
    const names = this.supervisor.names();
    await this.supervisor.stop([names.filter((n) => n !== 'haproxy'), names.filter((n) => n === 'haproxy')]);
  }

  private async startInstance(name: string, env: NodeJS.ProcessEnv): Promise<void> {
    const port = this.ports.get(name)!;
    this.supervisor.add({
      name,
      command: process.execPath,
      args: [TACHYON_BIN, 'start'],
      env: { ...this.options.env, ...env, PORT: String(port), HOST: '127.0.0.1', TACHYON_TRUST_PROXY: 'true' },
      logFile: join(this.options.runDir, `${name}.log`),
    });
    await waitFor(`http://127.0.0.1:${port}/api/health/ready`, this.options.readyTimeoutMs ?? 120_000);
  }

  private writeState(): void {
    const status = this.supervisor.status();
    const instances = Object.fromEntries([...this.ports].map(([name, port]) => [name, { port, pid: status[name]?.pid, restarts: status[name]?.restarts ?? 0 }]));
    const state = { url: this.url, stats: this.statsUrl, socket: this.socketPath, haproxy: status.haproxy, instances };
    writeFileSync(join(this.options.runDir, 'state.json'), JSON.stringify(state, null, 2));
  }
}

/** Polls a URL until it answers 200. */
export async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
