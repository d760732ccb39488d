/**
 * N Tachyon instances on one machine behind HAProxy: the local and CI form of the scaled
 * deployment (`tachyon cluster`, bench:cluster). Each instance is the installed binary
 * (`bin/tachyon.js start`) on its own port; HAProxy is configured from a file generated into the
 * run directory. The first instance starts alone (it migrates, seeds the demo users and the
 * history), the others once it is ready. `state.json` in the run directory names every process's
 * pid and port for operators and tests. With more slots than instances (`--autoscale`), HAProxy
 * lists a server per slot, the unused ones in maintenance: `addInstance` starts one, waits for its
 * readiness and enables its server through the runtime API; `removeInstance` drains it there first.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP_BACKEND, renderHaproxyConfig } from './haproxy-config.ts';
import { serverSessions, setServerState } from './haproxy-runtime.ts';
import { Supervisor, type SupervisorOptions } from './supervisor.ts';
import { projectPath } from '../kernel/project-files.ts';
import { SERVER_NODE_OPTIONS } from '../kernel/node-options.ts';

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
  /** HAProxy server slots (instance i on basePort + i - 1); those beyond `instances` wait for `addInstance`. Default: instances. */
  slots?: number;
  /** Longest wait for HAProxy to finish a draining server's requests before its instance is stopped. */
  drainTimeoutMs?: number;
  report?: SupervisorOptions['report'];
}

const TACHYON_BIN = projectPath('bin/tachyon.js');
export const HAPROXY = 'haproxy';

export type InstanceState = 'starting' | 'ready' | 'draining';

export interface ClusterInstance {
  name: string;
  /** Where the instance answers directly (its admin API, for metrics). */
  url: string;
  state: InstanceState;
}

export class LocalCluster {
  readonly supervisor: Supervisor;
  private readonly ports = new Map<string, number>();
  private readonly states = new Map<string, InstanceState>();

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
      const slots = Array.from({ length: Math.max(options.slots ?? 0, options.instances) }, (_, i) => `i${i + 1}`);
      slots.forEach((name, i) => cluster.ports.set(name, options.basePort + i));
      const names = slots.slice(0, options.instances);
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
          servers: slots.map((name) => ({ name, host: '127.0.0.1', port: cluster.ports.get(name)!, disabled: !cluster.states.has(name) })),
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

  /** The running instances in slot order. */
  instances(): ClusterInstance[] {
    return [...this.states].map(([name, state]) => ({ name, url: `http://127.0.0.1:${this.ports.get(name)}`, state }));
  }

  get slots(): number {
    return this.ports.size;
  }

  /** Starts an instance in the lowest free slot, waits for its readiness, then lets HAProxy send it requests. */
  async addInstance(): Promise<ClusterInstance> {
    const name = [...this.ports.keys()].find((n) => !this.states.has(n));
    if (!name) throw new Error(`every one of the ${this.slots} slots runs an instance`);
    try {
      await this.startInstance(name, { TACHYON_SEED_DAYS: '0' });
      await setServerState(this.socketPath, name, 'ready');
    } catch (error) {
      await this.supervisor.remove(name);
      this.states.delete(name);
      throw error;
    }
    return this.instances().find((i) => i.name === name)!;
  }

  /**
   * Drains an instance: HAProxy sends it no new request and its sessions end; then SIGTERM (readiness
   * 503, leases released, WebSocket clients told to reconnect, in-flight work finished); then its slot
   * goes back to maintenance.
   */
  async removeInstance(name: string): Promise<void> {
    if (!this.states.has(name)) return;
    this.states.set(name, 'draining');
    await setServerState(this.socketPath, name, 'drain');
    // HTTP requests only: WebSocket tunnels end when the instance, on SIGTERM, tells its clients to reconnect.
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 10_000);
    while (((await serverSessions(this.socketPath, HTTP_BACKEND)).get(name) ?? 0) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await this.supervisor.remove(name);
    await setServerState(this.socketPath, name, 'maint');
    this.states.delete(name);
    this.writeState();
  }

  /** Instances first (each drains: readiness 503, HAProxy stops sending, in-flight work ends), then HAProxy. */
  async stop(): Promise<void> {
    const names = this.supervisor.names();
    await this.supervisor.stop([names.filter((n) => n !== 'haproxy'), names.filter((n) => n === 'haproxy')]);
  }

  private async startInstance(name: string, env: NodeJS.ProcessEnv): Promise<void> {
    const port = this.ports.get(name)!;
    this.states.set(name, 'starting');
    this.supervisor.add({
      name,
      command: process.execPath,
      args: [...SERVER_NODE_OPTIONS, TACHYON_BIN, 'start'],
      env: { ...this.options.env, ...env, PORT: String(port), HOST: '127.0.0.1', TACHYON_TRUST_PROXY: 'true' },
      logFile: join(this.options.runDir, `${name}.log`),
    });
    await waitFor(`http://127.0.0.1:${port}/api/health/ready`, this.options.readyTimeoutMs ?? 120_000);
    this.states.set(name, 'ready');
    this.writeState();
  }

  private writeState(): void {
    const status = this.supervisor.status();
    const instances = Object.fromEntries(
      [...this.states].map(([name, state]) => [name, { port: this.ports.get(name), state, pid: status[name]?.pid, restarts: status[name]?.restarts ?? 0 }]),
    );
    const state = { url: this.url, stats: this.statsUrl, socket: this.socketPath, haproxy: status.haproxy, instances };
    // Written aside and renamed: a reader (an operator's script, the tests) never sees half a file.
    const file = join(this.options.runDir, 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${file}.tmp`, file);
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
