/**
 * A real six-node Redis Cluster (3 primaries, 3 replicas) from the machine's redis-server, each node
 * a child process in its own temporary directory, on `basePort`…`basePort + 5` (cluster bus ports
 * 100 above), for the cluster suites and bench. `stop()` kills every node and removes the directories.
 * Missing binaries: skipped loudly, or a failure under CI=true (see redisServerInstalled).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { clusterUrl } from '../../src/kernel/redis-client.ts';
import { accepts } from './servers.ts';

const run = promisify(execFile);
const NODES = 6;
/** Short, so a killed primary is replaced in about two seconds. */
const NODE_TIMEOUT_MS = 1_000;

interface Node {
  port: number;
  dir: string;
  child: ChildProcess;
}

export class RedisCluster {
  private constructor(private readonly nodes: Node[]) {}

  get url(): string {
    return clusterUrl(this.nodes.map((n) => `127.0.0.1:${n.port}`));
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  static async start(basePort: number): Promise<RedisCluster> {
    const ports = Array.from({ length: NODES }, (_, i) => basePort + i);
    for (const port of ports) if (await accepts(port)) throw new Error(`port ${port} is taken: a previous cluster run left a node behind?`);
    const nodes = ports.map((port) => {
      const dir = mkdtempSync(join(tmpdir(), `tachyon-cluster-${port}-`));
      return { port, dir, child: spawnNode(port, dir) };
    });
    const cluster = new RedisCluster(nodes);
    // A run that never reaches stop() (a hook timed out) leaves no node behind holding the next run's ports.
    process.once('exit', () => nodes.forEach((node) => node.child.kill('SIGKILL')));
    try {
      // A node whose port (or bus port) is held for a moment by another process exits at once: start it again.
      for (const node of nodes) {
        let starts = 1;
        await until(async () => {
          if (node.child.exitCode !== null && starts++ < 5) node.child = spawnNode(node.port, node.dir);
          return accepts(node.port);
        }, `node ${node.port} to accept connections`);
      }
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
      await cluster.settled();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Every live node sees all slots served and the cluster ok, three primaries, and every replica's link up. */
  async settled(): Promise<void> {
    await until(async () => {
      for (const node of this.live()) {
        const info = await cli(node.port, 'cluster', 'info').catch(() => '');
        if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
      }
      const roles = await Promise.all(this.live().map((n) => this.role(n.port)));
      if (roles.filter((r) => r === 'master').length !== 3) return false;
      // A replica that has not finished its first sync refuses to fail over (its data is too old to
      // promote), so a primary killed right after the start stayed down: every replica's link is up.
      const replicas = this.live().filter((_, i) => roles[i] === 'slave');
      const links = await Promise.all(replicas.map((n) => cli(n.port, 'info', 'replication').catch(() => '')));
      return links.every((info) => info.includes('master_link_status:up'));
    }, 'the cluster to settle');
  }

  /** `master` or `slave`, as the node itself says. */
  async role(port: number): Promise<string> {
    return (await cli(port, 'role')).split('\n')[0]!.trim();
  }

  async primaries(): Promise<number[]> {
    const roles = await Promise.all(this.live().map(async (n) => [n.port, await this.role(n.port).catch(() => '')] as const));
    return roles.filter(([, role]) => role === 'master').map(([port]) => port);
  }

  /** A manual failover: a replica of `primaryPort` takes over with no write lost (CLUSTER FAILOVER). */
  async failover(primaryPort: number): Promise<number> {
    const replica = await this.replicaOf(primaryPort);
    await cli(replica, 'cluster', 'failover');
    await until(async () => (await this.role(replica)) === 'master' && (await this.role(primaryPort)) === 'slave', `replica ${replica} to take over`);
    await this.settled();
    return replica;
  }

  /** Kills a primary outright (SIGKILL); its replica is promoted after the node timeout. */
  async killPrimary(primaryPort: number): Promise<number> {
    const replica = await this.replicaOf(primaryPort);
    const node = this.nodes.find((n) => n.port === primaryPort)!;
    const exited = new Promise((r) => node.child.once('exit', r));
    node.child.kill('SIGKILL');
    await exited;
    await until(async () => (await this.role(replica)) === 'master', `replica ${replica} to be promoted`);
    await this.settled();
    return replica;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.child.exitCode === null && node.child.signalCode === null) {
          const exited = new Promise((r) => node.child.once('exit', r));
          node.child.kill('SIGKILL');
          await exited;
        }
        rmSync(node.dir, { recursive: true, force: true });
      }),
    );
  }

  private live(): Node[] {
    return this.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  }

  private async replicaOf(primaryPort: number): Promise<number> {
    const nodes = await cli(primaryPort, 'cluster', 'nodes');
    const self = nodes.split('\n').find((line) => line.includes('myself'))!.split(' ')[0]!;
    const replica = nodes.split('\n').find((line) => line.split(' ')[3] === self);
    const port = Number(/:(\d+)@/.exec(replica ?? '')?.[1]);
    if (!port) throw new Error(`primary ${primaryPort} has no replica:\n${nodes}`);
    return port;
  }
}

function spawnNode(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(port + 100),
      '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    ],
    { stdio: 'ignore' },
  );
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args])).stdout;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
