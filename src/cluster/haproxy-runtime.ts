/**
 * HAProxy's runtime API over its admin socket (`stats socket … level admin`): one command per
 * connection, the answer is everything HAProxy writes before it closes. The autoscaler enables a new
 * server once its instance is ready, and drains one before stopping its instance.
 */
import { createConnection } from 'node:net';

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

/** `set server backend/name state …`; HAProxy answers nothing on success, a message otherwise. */
export async function setServerState(socketPath: string, backend: string, server: string, state: ServerAdminState): Promise<void> {
  const answer = await haproxyCommand(socketPath, `set server ${backend}/${server} state ${state}`);
  if (answer !== '') throw new Error(`HAProxy refused "set server ${backend}/${server} state ${state}": ${answer}`);
}

/** Current sessions (scur) of each server of a backend, from `show stat`. */
export async function serverSessions(socketPath: string, backend: string): Promise<Map<string, number>> {
  const csv = await haproxyCommand(socketPath, 'show stat');
  const [header, ...rows] = csv.split('\n').map((line) => line.split(','));
  const scur = header!.indexOf('scur');
  return new Map(rows.filter((r) => r[0] === backend && r[1] !== 'BACKEND' && r[1] !== 'FRONTEND').map((r) => [r[1]!, Number(r[scur])]));
}
