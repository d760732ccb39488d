/**
 * The CLI beside a running embedded server. PGlite's data directory is single-process, so while
 * `tachyon start` holds it, `seed`, `users create` and `reconcile` go through the server's admin API
 * instead. The server publishes its URL and a local admin token in `<dataDir>/server.json`, readable
 * by its owner only (the same trust as the data files next to it); the token is rotated at every
 * start and the file is removed at stop.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserStore } from '../auth/user-store.ts';
import type { TachyonConfig } from '../config/config.ts';
import { ConflictError, TachyonError } from '../kernel/errors.ts';
import { DEMO_ADMIN } from '../seed/demo.ts';
import { demoCredentialFile } from '../seed/demo-credentials.ts';

/** The admin user whose token the CLI uses; its keys are replaced at each start. */
export const CLI_USER = 'tachyon-cli';
const FILE = 'server.json';

export interface LocalServer {
  pid: number;
  url: string;
  token: string;
}

/** Writes server.json for this process; returns the function that removes it. */
export async function publishLocalServer(config: Pick<TachyonConfig, 'dataDir' | 'databaseUrl'>, users: UserStore, url: string): Promise<() => void> {
  if (config.databaseUrl) return () => {};
  const existing = await users.findByName(CLI_USER);
  const userId = existing ? existing.id : (await users.create({ name: CLI_USER, role: 'admin', label: 'cli' })).userId;
  const token = await users.issueToken(userId, 'cli', { revokeSameLabel: true });
  const file = join(config.dataDir, FILE);
  const server: LocalServer = { pid: process.pid, url, token };
  writeFileSync(file, JSON.stringify(server), { mode: 0o600 });
  chmodSync(file, 0o600);
  return () => rmSync(file, { force: true });
}

/** The server running on this embedded data directory, if any (a stale file of a dead process is ignored). */
export function findLocalServer(config: Pick<TachyonConfig, 'dataDir' | 'databaseUrl'>): LocalServer | undefined {
  if (config.databaseUrl) return undefined;
  let server: LocalServer;
  try {
    server = JSON.parse(readFileSync(join(config.dataDir, FILE), 'utf8')) as LocalServer;
  } catch {
    return undefined;
  }
  try {
    process.kill(server.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return server;
}

/** A call to the running server's API; a problem answer becomes a TachyonError carrying its detail. */
export async function callServer<T>(server: LocalServer, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(path, server.url), {
      method,
      headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new TachyonError(503, 'unreachable', `the server (pid ${server.pid}) holds ${server.url} but does not answer: ${(error as Error).message}`);
  }
  const payload = (await response.json().catch(() => ({}))) as T & { detail?: string; code?: string };
  if (response.status === 409) throw new ConflictError(payload.detail ?? 'conflict');
  if (!response.ok) throw new TachyonError(response.status, payload.code ?? 'error', payload.detail ?? `${method} ${path} answered ${response.status}`);
  return payload;
}

/**
 * The demo admin token kept in the data directory (seed/demo-credentials.ts), offered only to a
 * target on this machine: the platform that owns that directory. A remote target never gets it.
 */
export function localAdminToken(target: string, dataDir: string): string | undefined {
  let host: string;
  try {
    host = new URL(target).hostname;
  } catch {
    return undefined; // the caller reports the bad target itself
  }
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return undefined;
  try {
    return demoCredentialFile(dataDir).read()[DEMO_ADMIN];
  } catch {
    return undefined;
  }
}
