/** The real `tachyon` binary as a child process, its output collected, for lifecycle and first-run tests. */
import { spawn, type ChildProcess } from 'node:child_process';

export type TachyonChild = ChildProcess & { output: () => string; exited: Promise<number | null> };

/** Starts `bin/tachyon.js args`; an inherited HOST is dropped so the default (or `env`) decides. */
export function spawnTachyon(args: string[], env: Record<string, string>): TachyonChild {
  const base = { ...process.env };
  delete base.HOST;
  const child = spawn(process.execPath, ['bin/tachyon.js', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => output, exited });
}

/** Runs a command to completion. */
export async function runTachyon(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawnTachyon(args, env);
  const code = await child.exited;
  return { code, output: child.output() };
}

/**
 * Kills the children still running after a file's tests. A test that timed out leaves its server
 * running, and that server keeps writing into the data directory the file then removes.
 */
export async function killLeftovers(children: readonly TachyonChild[]): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
}
