/**
 * What production gains from running the build: start time and idle resident memory of
 * `tachyon start` on the TypeScript sources through tsx (how it ran before the build) against the
 * compiled output as `npm start` runs it (node with the start script's options, SERVER_NODE_OPTIONS, then bin/tachyon.js: the freshness
 * check, then dist/), in the same run, alternating rounds so drift hits both alike.
 *
 * Both restart one data directory created beforehand (initdb and migrations are outside the figures)
 * without history seeding. Start is spawn until /api/health answers; CPU is the process's user+system
 * time at that moment; idle RSS is the median of samples over IDLE_S seconds after it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';
import { SERVER_NODE_OPTIONS } from '../src/kernel/node-options.ts';
import { freePort, rssOf, stopChild, waitFor } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_S = Number(process.env.BENCH_IDLE ?? 5);
const SAMPLE_MS = 200;
const MiB = 2 ** 20;
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

const VARIANTS = [
  { name: 'sources through tsx (before)', args: ['bin/run-ts.js', 'src/cli/main.ts', 'start'] },
  { name: 'compiled dist/ (npm start)', args: [...SERVER_NODE_OPTIONS, 'bin/tachyon.js', 'start'] },
] as const;

interface Sample {
  startMs: number;
  startCpuMs: number;
  idleRssMiB: number;
}

function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function once(args: readonly string[], dataDir: string): Promise<Sample> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', TACHYON_DATA_DIR: dataDir, TACHYON_SEED_DAYS: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(`http://127.0.0.1:${port}/api/health`, child, 180_000);
    const startMs = performance.now() - began;
    const startCpuMs = cpuMsOf(child.pid!);
    const samples: number[] = [];
    for (let t = 0; t < (IDLE_S * 1000) / SAMPLE_MS; t++) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      samples.push(rssOf(child.pid!));
    }
    return { startMs, startCpuMs, idleRssMiB: median(samples) / MiB };
  } finally {
    await stopChild(child);
  }
}

ensureBuilt();
const dataDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-runtime-'));
const results = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]));
try {
  process.stderr.write('creating the data directory (first start, not measured)…\n');
  await once(VARIANTS[1].args, dataDir);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of round % 2 ? VARIANTS : [...VARIANTS].reverse()) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${variant.name}…\n`);
      results.get(variant.name)!.push(await once(variant.args, dataDir));
    }
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const rows = VARIANTS.map(({ name }) => {
  const samples = results.get(name)!;
  return { variant: name, startMs: Math.round(median(samples.map((s) => s.startMs))), startCpuMs: Math.round(median(samples.map((s) => s.startCpuMs))), idleRssMiB: Math.round(median(samples.map((s) => s.idleRssMiB))) };
});
console.log(`\ntachyon start (restart of one data directory, no seeding): median of ${ROUNDS} alternating rounds, idle RSS over ${IDLE_S}s\n`);
printTable(rows.map((r) => ({ variant: r.variant, 'start ms': r.startMs, 'start CPU ms': r.startCpuMs, 'idle RSS MiB': r.idleRssMiB })));
const [before, after] = rows as [(typeof rows)[0], (typeof rows)[0]];
console.log(`\ncompiled/sources: start ${(after.startMs / before.startMs).toFixed(2)}×, start CPU ${(after.startCpuMs / before.startCpuMs).toFixed(2)}×, idle RSS ${(after.idleRssMiB / before.idleRssMiB).toFixed(2)}×`);
const headline: Headline = {
  subject: `tachyon start, ${after.variant}`,
  reference: `${before.variant} (same run)`,
  figures: [
    { name: 'start', unit: 'ms', better: 'lower', value: after.startMs, reference: before.startMs },
    { name: 'start CPU', unit: 'ms', better: 'lower', value: after.startCpuMs, reference: before.startCpuMs },
    { name: 'idle RSS', unit: 'MiB', better: 'lower', value: after.idleRssMiB, reference: before.idleRssMiB },
  ],
};
console.log(`results: ${writeResults('runtime', { rounds: ROUNDS, idleSeconds: IDLE_S, rows, headline })}`);
