/**
 * Keeps named child processes running: starts each, restarts one that exits without being asked
 * to (after a backoff that doubles while it keeps dying young), and stops them with SIGTERM,
 * escalating to SIGKILL past a deadline. `tachyon cluster` runs its instances and HAProxy under
 * one; an autoscaler adds and removes instances through `add` and `remove`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface SupervisorOptions {
  /** First restart delay; doubles per consecutive early death up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A process that ran at least this long is healthy again: its backoff resets. */
  healthyAfterMs?: number;
  /** SIGKILL after this long without exiting on SIGTERM. */
  stopTimeoutMs?: number;
  /** Lifecycle events, for the operator's log. */
  report?: (event: { name: string; event: 'started' | 'exited' | 'restarting' | 'stopped'; pid?: number; code?: number | null; signal?: string | null; delayMs?: number }) => void;
}

interface Managed {
  spec: ProcessSpec;
  child: ChildProcess | undefined;
  startedAt: number;
  failures: number;
  restarts: number;
  stopping: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class Supervisor {
  private readonly processes = new Map<string, Managed>();
  private readonly options: Required<Omit<SupervisorOptions, 'report'>> & Pick<SupervisorOptions, 'report'>;

  constructor(options: SupervisorOptions = {}) {
    this.options = { backoffMs: 250, maxBackoffMs: 10_000, healthyAfterMs: 10_000, stopTimeoutMs: 30_000, ...options };
  }

  add(spec: ProcessSpec): void {
    if (this.processes.has(spec.name)) throw new Error(`process ${spec.name} is already supervised`);
    const managed: Managed = { spec, child: undefined, startedAt: 0, failures: 0, restarts: 0, stopping: undefined, timer: undefined };
    this.processes.set(spec.name, managed);
    this.spawn(managed);
  }

  /** Stops a process (SIGTERM, then SIGKILL past the deadline) and forgets it. */
  async remove(name: string): Promise<void> {
    const managed = this.processes.get(name);
    if (!managed) return;
    managed.stopping ??= this.terminate(managed);
    await managed.stopping;
    this.processes.delete(name);
  }

  /** Stops the named processes in the given order of groups: each group in parallel, groups one after another. */
  async stop(groups: string[][]): Promise<void> {
    for (const group of groups) await Promise.all(group.map((name) => this.remove(name)));
  }

  names(): string[] {
    return [...this.processes.keys()];
  }

  /** Pid and restart count of each running process. */
  status(): Record<string, { pid: number | undefined; restarts: number }> {
    return Object.fromEntries([...this.processes].map(([name, m]) => [name, { pid: m.child?.exitCode === null ? m.child.pid : undefined, restarts: m.restarts }]));
  }

  private spawn(managed: Managed): void {
    const { spec } = managed;
    const log = openSync(spec.logFile, 'a');
    // Own process group: a Ctrl-C in the terminal reaches the supervisor only, which stops children in order.
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    managed.child = child;
    managed.startedAt = Date.now();
    this.options.report?.({ name: spec.name, event: 'started', pid: child.pid });
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (gone || managed.stopping) return;
      gone = true;
      this.options.report?.({ name: spec.name, event: 'exited', pid: child.pid, code, signal });
      managed.failures = Date.now() - managed.startedAt >= this.options.healthyAfterMs ? 0 : managed.failures + 1;
      const delayMs = Math.min(this.options.maxBackoffMs, managed.failures === 0 ? 0 : this.options.backoffMs * 2 ** (managed.failures - 1));
      this.options.report?.({ name: spec.name, event: 'restarting', delayMs });
      managed.restarts++;
      managed.timer = setTimeout(() => {
        managed.timer = undefined;
        if (!managed.stopping) this.spawn(managed);
      }, delayMs);
    };
    child.once('exit', onGone);
    // A process that could not be spawned at all emits only `error`: treat it as an early death.
    child.once('error', () => onGone(null, null));
  }

  private async terminate(managed: Managed): Promise<void> {
    clearTimeout(managed.timer);
    const child = managed.child;
    // Never spawned (pid undefined) or already gone: nothing to wait for.
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const deadline = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs);
    await exited;
    clearTimeout(deadline);
    this.options.report?.({ name: managed.spec.name, event: 'stopped', pid: child.pid, code: child.exitCode, signal: child.signalCode });
  }
}
