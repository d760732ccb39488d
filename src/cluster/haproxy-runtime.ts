/**
 * HAProxy's runtime API over its admin socket (`stats socket … level admin`): one command per
 * connection, the answer is everything HAProxy writes before it closes. The autoscaler enables a new
 * server once its instance is ready, and drains one before stopping its instance.
 */
import { createConnection } from 'node:net';
import { BACKENDS } from './haproxy-config.ts';

export async function haproxyCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`HAProxy runtime API: no answer to "${command}" within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.trim()));
  });
}

export type ServerAdminState = 'ready' | 'drain' | 'maint';

/** Runs `;`-separated commands in one connection (HAProxy applies them together); each answers nothing on success. */
async function silentCommands(socketPath: string, commands: string[]): Promise<void> {
  const line = commands.join('; ');
  const answer = await haproxyCommand(socketPath, line);
  if (answer !== '') throw new Error(`HAProxy refused "${line}": ${answer}`);
}

/**
 * `set server …/name state …` in every backend: tracking carries maintenance and drain over only for
 * servers of the configuration file, not for dynamic ones (which cannot track), nor does it lift a state set
 * on the tracker itself.
 */
export async function setServerState(socketPath: string, server: string, state: ServerAdminState): Promise<void> {
  await silentCommands(socketPath, BACKENDS.map((backend) => `set server ${backend}/${server} state ${state}`));
}

/** Sets weights (0–256) in every backend in one command line. */
export async function setServerWeights(socketPath: string, weights: ReadonlyMap<string, number>): Promise<void> {
  await silentCommands(socketPath, BACKENDS.flatMap((backend) => [...weights].map(([name, weight]) => `set weight ${backend}/${name} ${Math.round(weight)}`)));
}

/** Current sessions (scur) of each server of a backend, from `show stat`. */
export async function serverSessions(socketPath: string, backend: string): Promise<Map<string, number>> {
  const csv = await haproxyCommand(socketPath, 'show stat');
  const [header, ...rows] = csv.split('\n').map((line) => line.split(','));
  const scur = header!.indexOf('scur');
  return new Map(rows.filter((r) => r[0] === backend && r[1] !== 'BACKEND' && r[1] !== 'FRONTEND').map((r) => [r[1]!, Number(r[scur])]));
}
