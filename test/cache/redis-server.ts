/**
 * A throwaway redis-server child on a free port, so a test can kill Redis without touching the
 * machine's shared one. Missing binary: skipped loudly, or a failure under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { accepts } from '../support/servers.ts';

export function redisServerInstalled(): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  const message = 'redis-server is not installed; the Redis cache suites did not run';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: server suites must run)`);
  console.warn(`\n!!! SKIPPED: ${message}.\n`);
  return false;
}

export class OwnRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** On `port` (a suite's own range) or a free one. */
  static async start(port?: number): Promise<OwnRedis> {
    const server = new OwnRedis(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(await accepts(this.port)); i++) await new Promise((r) => setTimeout(r, 25));
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
