/**
 * The rollout controller's hands on `tachyon cluster`: start an instance of another version under the
 * cluster's supervisor (restarted if it dies, stopped with the cluster), add it to HAProxy's backend as a
 * dynamic server of both backends, HTTP and WebSocket (`add server` through the runtime API: no slot, no
 * reload, no clash with the slots the cluster and its autoscaler own), set weights in both, and drain, stop
 * and delete it. The controller only sees
 * the small RolloutPool interface; the cluster is reached through its public surface (supervisor,
 * runtime socket, instances, removeInstance).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ConstantBackoff, handleType, retry } from 'cockatiel';
import { BACKENDS, HTTP_BACKEND } from '../cluster/haproxy-config.ts';
import { haproxyCommand, serverSessions, setServerState, setServerWeights } from '../cluster/haproxy-runtime.ts';
import { waitFor, type LocalCluster } from '../cluster/local-cluster.ts';
import { SERVER_NODE_OPTIONS } from '../kernel/node-options.ts';
import { projectPath } from '../kernel/project-files.ts';
import type { RolloutInstance, VersionSpec } from './types.ts';

export interface RolloutPool {
  /** The instances serving the current version. */
  stable(): RolloutInstance[];
  /** Starts an instance of `version`, waits until it is ready, adds it to the balancer with weight 0. */
  start(name: string, version: VersionSpec): Promise<RolloutInstance>;
  /** Sets weights (0–256) in one runtime API command line: HAProxy applies them together. */
  setWeights(weights: ReadonlyMap<string, number>): Promise<void>;
  /** Waits until the balancer has no request in flight on the instance (weight 0 first), or the deadline. */
  drained(name: string, timeoutMs: number): Promise<boolean>;
  /** Stops an instance (it drains itself on SIGTERM) and takes it out of the balancer. */
  stop(name: string): Promise<void>;
  /** After a promotion: these instances now serve the current version. */
  adopt(instances: RolloutInstance[]): void;
}

/** HAProxy refuses to delete a server while connections to it remain (they close with its process, shortly). */
class NotDeleted extends Error {}
/** `del server` every 200 ms for about 10 s. */
const DELETE_SERVER = retry(handleType(NotDeleted), { maxAttempts: 49, backoff: new ConstantBackoff(200) });
/**
 * The cluster's per-server check settings (haproxy-config.ts); dynamic servers do not inherit
 * default-server, and the WebSocket one cannot `track` a dynamic server: each backend checks its own.
 */
const SERVER_OPTIONS = 'check inter 1000 fastinter 250 downinter 1000 rise 2 fall 2 maxconn 1000';

/** A free port on 127.0.0.1 (the kernel's pick, released for the instance to take). */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Only the platform's own settings may differ per version: NODE_OPTIONS, PATH and the like stay the cluster's. */
export const VERSION_ENV = /^(TACHYON_[A-Z0-9_]+|LOG_LEVEL)$/;

export function tachyonBin(dir: string | undefined): string {
  return dir === undefined ? projectPath('bin/tachyon.js') : join(resolve(dir), 'bin/tachyon.js');
}

export class ClusterRolloutPool implements RolloutPool {
  /** The current version's instances: the cluster's own at first, a promoted set later. */
  private current: RolloutInstance[] | undefined;
  /** Instances this pool started (dynamic servers), by name. */
  private readonly started = new Set<string>();

  constructor(
    private readonly cluster: LocalCluster,
    private readonly options: { readyTimeoutMs?: number; log?: (line: string) => void } = {},
  ) {}

  stable(): RolloutInstance[] {
    return this.current ?? this.cluster.instances().filter((i) => i.state === 'ready').map(({ name, url }) => ({ name, url }));
  }

  adopt(instances: RolloutInstance[]): void {
    this.current = instances;
  }

  async start(name: string, version: VersionSpec): Promise<RolloutInstance> {
    const bin = tachyonBin(version.dir);
    if (!existsSync(bin)) throw new Error(`${bin} does not exist: the version directory must be a Tachyon checkout or build`);
    const bad = Object.keys(version.env).filter((k) => !VERSION_ENV.test(k));
    if (bad.length > 0) throw new Error(`only TACHYON_* and LOG_LEVEL may differ per version, not ${bad.join(', ')}`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { supervisor, options } = this.cluster;
    supervisor.add({
      name,
      command: process.execPath,
      args: [...SERVER_NODE_OPTIONS, bin, 'start'],
      // The history was seeded by the first instance; the new version shares the database.
      env: { ...options.env, ...version.env, PORT: String(port), HOST: '127.0.0.1', TACHYON_TRUST_PROXY: 'true', TACHYON_SEED_DAYS: '0' },
      logFile: join(options.runDir, `${name}.log`),
    });
    this.started.add(name);
    try {
      await waitFor(`${url}/api/health/ready`, this.options.readyTimeoutMs ?? 120_000);
      for (const backend of BACKENDS) {
        await this.command(`add server ${backend}/${name} 127.0.0.1:${port} weight 0 ${SERVER_OPTIONS}`);
        await this.command(`enable health ${backend}/${name}`);
        await this.command(`enable server ${backend}/${name}`);
      }
    } catch (error) {
      await this.stop(name);
      throw error;
    }
    return { name, url };
  }

  async setWeights(weights: ReadonlyMap<string, number>): Promise<void> {
    await setServerWeights(this.cluster.socketPath, weights);
  }

  async drained(name: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // HTTP requests only: WebSocket tunnels end when the instance, on SIGTERM, tells its clients to reconnect.
      if (((await serverSessions(this.cluster.socketPath, HTTP_BACKEND)).get(name) ?? 0) === 0) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(name: string): Promise<void> {
    if (!this.started.has(name)) {
      // One of the cluster's own instances (a promotion replaces them): it drains and leaves its slot.
      await this.cluster.removeInstance(name);
      return;
    }
    await this.cluster.supervisor.remove(name);
    this.started.delete(name);
    // A dynamic server can be deleted once in maintenance with no connection left, idle ones included:
    // they close with the process, shortly.
    const exists = (await haproxyCommand(this.cluster.socketPath, `show servers state ${HTTP_BACKEND}`)).split('\n').some((l) => l.split(' ')[3] === name);
    if (!exists) return;
    await setServerState(this.cluster.socketPath, name, 'maint');
    for (const backend of BACKENDS) if (!(await this.deleteServer(backend, name))) this.options.log?.(`[rollout] ${backend}/${name} stays in HAProxy in maintenance (connections did not close)`);
  }

  private async deleteServer(backend: string, name: string): Promise<boolean> {
    try {
      await DELETE_SERVER.execute(async () => {
        const answer = await haproxyCommand(this.cluster.socketPath, `del server ${backend}/${name}`);
        if (!/deleted/i.test(answer)) throw new NotDeleted(answer);
      });
      return true;
    } catch (error) {
      if (error instanceof NotDeleted) return false;
      throw error;
    }
  }

  private async command(line: string): Promise<void> {
    const answer = await haproxyCommand(this.cluster.socketPath, line);
    // `add server` answers "New server registered.", `del server` "Server deleted."; the rest nothing.
    if (answer !== '' && !/registered|deleted/i.test(answer)) throw new Error(`HAProxy refused "${line}": ${answer}`);
  }
}
