/**
 * What production gains from running the build: start time and idle resident memory of
 * `tachyon start` on the TypeScript sources through tsx (how it ran before the build) against the
 * compiled output as `npm start` runs it (node with the start script's options, SERVER_NODE_OPTIONS, then bin/tachyon.js: the freshness
 * check, then dist/), in the same run, alternating rounds so drift hits both alike.
 *
 * Both restart one data directory created beforehand (initdb and migrations are outside the figures)
 * without history seeding. Start is spawn until /api/health answers; CPU is the process's user+system
 * time at that moment; idle RSS is the median of samples over IDLE_S seconds after it. Then cached
 * quote reads (autocannon, 50 connections, a second's warm-up, LOAD_S seconds measured; generator and
 * server share the cores): loaded RSS is the largest sample during them, CPU per read the process's CPU
 * time over them divided by the reads answered.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';
import autocannon from 'autocannon';
import { SERVER_NODE_OPTIONS } from '../src/kernel/node-options.ts';
import { BENCH_DEMO_TOKEN, BENCH_QUOTE_PATH, LIMITS_OUT_OF_REACH_ENV, cpuSecondsOf, freePort, rssOf, stopChild, waitFor } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_S = Number(process.env.BENCH_IDLE ?? 5);
const LOAD_S = Number(process.env.BENCH_LOAD ?? 5);
const SAMPLE_MS = 200;
const MiB = 2 ** 20;

const VARIANTS = [
  { name: 'sources through tsx (before)', args: ['bin/run-ts.js', 'src/cli/main.ts', 'start'] },
  { name: 'compiled dist/ (npm start)', args: [...SERVER_NODE_OPTIONS, 'bin/tachyon.js', 'start'] },
] as const;

interface Sample {
  startMs: number;
  startCpuMs: number;
  idleRssMiB: number;
  loadedRssMiB: number;
  readsPerSecond: number;
  cpuUsPerRead: number;
}

/** Cached quote reads for `seconds`, with the server's largest RSS sample over them. */
async function reads(url: string, pid: number, seconds: number): Promise<{ total: number; maxRss: number }> {
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssOf(pid))), SAMPLE_MS);
  try {
    const result = await autocannon({ url, connections: 50, duration: seconds, headers: { authorization: `Bearer ${BENCH_DEMO_TOKEN}` } });
    if (result.non2xx + result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
    return { total: result.requests.total, maxRss };
  } finally {
    clearInterval(sampler);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function once(args: readonly string[], dataDir: string): Promise<Sample> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', TACHYON_DATA_DIR: dataDir, TACHYON_SEED_DAYS: '0', TACHYON_DEMO_TOKEN: BENCH_DEMO_TOKEN, ...LIMITS_OUT_OF_REACH_ENV },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(`http://127.0.0.1:${port}/api/health`, child, 180_000);
    const startMs = performance.now() - began;
    const pid = child.pid!;
    const startCpuMs = cpuSecondsOf(pid) * 1000;
    const samples: number[] = [];
    for (let t = 0; t < (IDLE_S * 1000) / SAMPLE_MS; t++) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      samples.push(rssOf(pid));
    }
    const url = `http://127.0.0.1:${port}${BENCH_QUOTE_PATH}`;
    await reads(url, pid, 1);
    const cpu0 = cpuSecondsOf(pid);
    const loaded = await reads(url, pid, LOAD_S);
    const cpuUsPerRead = ((cpuSecondsOf(pid) - cpu0) * 1e6) / loaded.total;
    return { startMs, startCpuMs, idleRssMiB: median(samples) / MiB, loadedRssMiB: loaded.maxRss / MiB, readsPerSecond: loaded.total / LOAD_S, cpuUsPerRead };
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
  const of = (field: keyof Sample) => median(samples.map((s) => s[field]));
  return {
    variant: name,
    startMs: Math.round(of('startMs')),
    startCpuMs: Math.round(of('startCpuMs')),
    idleRssMiB: Math.round(of('idleRssMiB')),
    loadedRssMiB: Math.round(of('loadedRssMiB')),
    readsPerSecond: Math.round(of('readsPerSecond')),
    cpuUsPerRead: Math.round(of('cpuUsPerRead') * 10) / 10,
  };
});
console.log(
  `\ntachyon start (restart of one data directory, no seeding): median of ${ROUNDS} alternating rounds, idle RSS over ${IDLE_S}s, then ${LOAD_S}s of cached quote reads (autocannon, 50 connections; generator and server share the cores; load average ${loadavg()[0]!.toFixed(1)})\n`,
);
printTable(
  rows.map((r) => ({ variant: r.variant, 'start ms': r.startMs, 'start CPU ms': r.startCpuMs, 'idle RSS MiB': r.idleRssMiB, 'loaded RSS MiB': r.loadedRssMiB, 'reads/s': r.readsPerSecond, 'CPU µs/read': r.cpuUsPerRead })),
);
const [before, after] = rows as [(typeof rows)[0], (typeof rows)[0]];
const ratio = (field: Exclude<keyof (typeof rows)[0], 'variant'>) => (after[field] / before[field]).toFixed(2);
console.log(
  `\ncompiled/sources: start ${ratio('startMs')}×, start CPU ${ratio('startCpuMs')}×, idle RSS ${ratio('idleRssMiB')}×, loaded RSS ${ratio('loadedRssMiB')}×, CPU per cached read ${ratio('cpuUsPerRead')}×`,
);
const headline: Headline = {
  subject: `tachyon start, ${after.variant}`,
  reference: `${before.variant} (same run)`,
  figures: [
    { name: 'start', unit: 'ms', better: 'lower', value: after.startMs, reference: before.startMs },
    { name: 'start CPU', unit: 'ms', better: 'lower', value: after.startCpuMs, reference: before.startCpuMs },
    { name: 'idle RSS', unit: 'MiB', better: 'lower', value: after.idleRssMiB, reference: before.idleRssMiB },
    { name: 'loaded RSS', unit: 'MiB', better: 'lower', value: after.loadedRssMiB, reference: before.loadedRssMiB },
    { name: 'CPU per cached read', unit: 'µs', better: 'lower', value: after.cpuUsPerRead, reference: before.cpuUsPerRead },
  ],
};
console.log(`results: ${writeResults('runtime', { rounds: ROUNDS, idleSeconds: IDLE_S, loadSeconds: LOAD_S, rows, headline })}`);
