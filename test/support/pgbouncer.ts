/**
 * A real PgBouncer (Debian's /usr/sbin/pgbouncer, installed by scripts/setup-system.sh) started for
 * a test from the committed deploy/pgbouncer/pgbouncer.ini, with its listen address, upstream, auth
 * and log lines pointed at this machine: the test exercises the configuration users deploy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../src/kernel/project-files.ts';

export const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  port: number;
  /** A URL through the pooler to `database` on the test server. */
  url(database: string): string;
  stop(): Promise<void>;
}

/** Missing binary: skipped loudly, a failure under CI=true (the setup script installs it). */
export function pgbouncerAvailable(): boolean {
  if (existsSync(PGBOUNCER)) return true;
  const message = `${PGBOUNCER} is not installed (bash scripts/setup-system.sh)`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the PgBouncer suite must run)`);
  console.warn(`\n!!! SKIPPED: ${message}; the PgBouncer suite did not run.\n`);
  return false;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startPgBouncer(port: number, upstream: { host: string; port: number }): Promise<PgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-pgbouncer-'));
  const ini = readFileSync(projectPath('deploy/pgbouncer/pgbouncer.ini'), 'utf8')
    .replace(/^listen_addr = .*$/m, 'listen_addr = 127.0.0.1')
    .replace(/^listen_port = .*$/m, `listen_port = ${port}`)
    .replace('host=postgres port=5432', `host=${upstream.host} port=${upstream.port}`)
    .replace(/^auth_type = .*$/m, 'auth_type = trust')
    .replace(/^auth_file = .*$/m, `auth_file = ${join(dir, 'userlist.txt')}`)
    .replace(/^logfile = .*$/m, `logfile = ${join(dir, 'pgbouncer.log')}`)
    .replace(/^pidfile = .*$/m, '')
    .concat('unix_socket_dir =\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), ini);
  writeFileSync(join(dir, 'userlist.txt'), `"${userInfo().username}" ""\n`);
  // PgBouncer refuses to run as root: it drops to the postgres user, which must own its files.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chmodSync(dir, 0o755);
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(dir, f), uid, gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await listening(port)); i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited ${child.exitCode}: ${readLog(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!(await listening(port))) throw new Error(`pgbouncer did not listen on ${port}: ${readLog(dir)}`);
  return {
    port,
    url: (database) => `postgres://${userInfo().username}@127.0.0.1:${port}/${database}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'pgbouncer.log'), 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

/** uid and gid of the postgres system user, from /etc/passwd. */
function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user to run pgbouncer as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
