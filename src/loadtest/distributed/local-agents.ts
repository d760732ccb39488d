/**
 * `tachyon loadtest --agents N`: N agent processes on this machine, each `tachyon loadtest agent` on a
 * free loopback port with a fresh token, tied to this process (an agent exits when its stdin closes,
 * so a coordinator that dies takes its agents with it).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { COMPILED, projectPath, runnableModule } from '../../kernel/project-files.ts';
import type { Guardrails } from '../guardrails.ts';
import type { AgentTargets } from './coordinator.ts';

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

/** The CLI entry as this installation runs it: the build on plain node, the sources through tsx. */
function agentCommand(): string[] {
  const main = fileURLToPath(runnableModule('../../cli/main.ts', import.meta.url));
  return COMPILED ? [main] : [projectPath('bin/run-ts.js'), main];
}

export interface LocalAgents extends AgentTargets {
  pids: number[];
  close(): Promise<void>;
}

export async function spawnLocalAgents(count: number, options: { guardrails: Guardrails; threads?: number }): Promise<LocalAgents> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('agents must be a positive integer');
  const token = randomBytes(24).toString('base64url');
  const env = {
    ...process.env,
    TACHYON_AGENT_TOKEN: token,
    // The agents enforce the coordinator's limits, not whatever their environment would default to.
    TACHYON_LOADTEST_ALLOWED_HOSTS: options.guardrails.allowedHosts.join(','),
    TACHYON_LOADTEST_MAX_DURATION: String(Math.ceil(options.guardrails.maxDurationMs / 1000)),
    TACHYON_LOADTEST_MAX_RATE: String(options.guardrails.maxRate),
  };
  const args = [...agentCommand(), 'loadtest', 'agent', '--port', '0', '--attached', '--workers', String(options.threads ?? 1)];
  const children: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopChild(child)));
  };
  try {
    const urls = await Promise.all(Array.from({ length: count }, () => {
      const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      return listeningUrl(child);
    }));
    return { urls, token, pids: children.map((c) => c.pid as number), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Reads the agent's "listening on URL" line from its stdout. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`a local agent did not start within ${STARTUP_TIMEOUT_MS / 1000} s: ${output.trim()}`)), STARTUP_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(url);
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`a local agent exited with code ${code} before listening: ${output.trim()}`));
    function fail(error: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // Closing stdin is the agent's signal to leave (--attached); SIGTERM too, for good measure.
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}
