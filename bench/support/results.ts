/** Benchmark output: a JSON file per benchmark under bench/results/ with the machine it ran on. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    note: 'load generator and server share these cores',
  };
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** A headline's percentiles: p95 is absent where a bench records p50 and p99 only. */
export type HeadlinePercentiles = Omit<Percentiles, 'p95'> & { p95?: number };

/**
 * What `npm run bench`'s report plots and compares for a bench (bench/support/report.ts): the thing
 * measured beside its same-run reference, and figures per round for the regression noise model.
 */
export interface Headline {
  subject: string;
  reference: string;
  throughput?: { unit: string; value: number; reference: number };
  latencyMs?: { value: HeadlinePercentiles; reference?: HeadlinePercentiles };
  /** Other headline figures beside their same-run reference (memory, start time, delivery rate …). */
  figures?: Array<{ name: string; unit: string; better: 'higher' | 'lower'; value: number; reference: number }>;
  /** Per-round figures (best a ratio to the reference measured in the same round). */
  rounds?: Array<{ name: string; unit: string; better: 'higher' | 'lower'; values: number[] }>;
}

export function writeResults(name: string, figures: Record<string, unknown>): string {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${name}.json`;
  writeFileSync(file, JSON.stringify({ benchmark: name, machine: machine(), ...figures }, null, 2) + '\n');
  return file;
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(line(columns));
  for (const row of rows) console.log(line(columns.map((c) => String(row[c] ?? ''))));
}
