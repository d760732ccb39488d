/**
 * A benchmarked server's event-loop delay over a window the bench chooses (bench:ws, bench:orders):
 * the server is started with `probe.args` and `probe.env` (loop-delay-probe.mjs preloaded), `restart`
 * opens the window and `read` closes it and returns the delay within it.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoopDelay {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoopDelayProbe {
  /** Node arguments for the server. */
  args: string[];
  /** Environment for the server. */
  env: Record<string, string>;
  /** Opens a window: the server's histogram starts over (synchronous, so a load's sample hook can call it). */
  restart(pid: number): void;
  /** Closes the window: the delay since `restart`, or undefined if the server did not answer within a second. */
  read(pid: number): Promise<LoopDelay | undefined>;
}

export function loopDelayProbe(): LoopDelayProbe {
  const file = join(tmpdir(), `bench-loop-delay-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  return {
    args: ['--import', './bench/support/loop-delay-probe.mjs'],
    env: { BENCH_LOOP_DELAY_FILE: file },
    restart: (pid) => void process.kill(pid, 'SIGUSR2'),
    async read(pid) {
      rmSync(file, { force: true });
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        try {
          return JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
        } catch {
          // not written yet
        }
      }
      return undefined;
    },
  };
}
