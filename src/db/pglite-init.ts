/**
 * Creates the embedded cluster of a fresh data directory in a short-lived child process.
 *
 * PGlite's initdb runs a second PostgreSQL instance in its own WebAssembly memory, which grows to
 * about 440 MB during bootstrap; WebAssembly memory never shrinks and V8 did not give this one
 * back after PGlite closed it, so a process that ran initdb stayed ~400 MB above one that reopened
 * an existing directory (measured in docs/benchmarks.md#memory). Doing it in a child confines that
 * cost to a process that exits.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILED, projectPath, runnableModule } from '../kernel/project-files.ts';

/**
 * Written into the new cluster's postgresql.conf (where an operator can raise it). shared_buffers is
 * allocated and zeroed inside the WebAssembly heap at start, so all of it is resident from the
 * first second: PostgreSQL's default 128 MB was a quarter of the 512 MB budget, while the data
 * files stay cached by the OS anyway (docs/benchmarks.md#memory).
 */
export const INITDB_PARAMS = ['--set', 'shared_buffers=16MB'];

const INITDB = fileURLToPath(runnableModule('./pglite-initdb.ts', import.meta.url));
/** The sources run through tsx (bin/run-ts.js); the compiled file runs on plain node. */
const INITDB_ARGS = COMPILED ? [INITDB] : [projectPath('bin/run-ts.js'), INITDB];

/** PGlite (like PostgreSQL) treats a directory holding PG_VERSION as an existing cluster. */
export function isInitialized(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

/**
 * Runs initdb into a sibling directory, then moves the result into `dataDir` with PG_VERSION last,
 * so a crash at any point leaves a directory that is either complete or re-initialized next time.
 */
export async function initEmbeddedDataDir(dataDir: string): Promise<void> {
  const staging = mkdtempSync(join(dirname(dataDir), `.${basename(dataDir)}-initdb-`));
  try {
    await runChild(staging);
    const entries = readdirSync(staging).sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'));
    for (const entry of entries) {
      // Leftovers of an interrupted earlier move are incomplete by definition (no PG_VERSION yet).
      rmSync(join(dataDir, entry), { recursive: true, force: true });
      renameSync(join(staging, entry), join(dataDir, entry));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function runChild(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...INITDB_ARGS, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`initializing the embedded database in ${dir} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
    });
  });
}
