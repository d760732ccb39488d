/**
 * `npm run bench`'s report: report.json (the machine, each bench's outcome, its load average before
 * and during the run, and its headline from bench/results/<name>.json) and the metrics a baseline
 * comparison ranks. A report is also a baseline: `--save-baseline FILE` copies it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { machine, type Headline } from './results.ts';
import type { Profile } from './profile.ts';
import type { RoundsMetric } from './regression.ts';

export interface BenchRun {
  name: string;
  outcome: string;
  seconds: number;
  load: { before: number; duringMean: number; duringMax: number };
  resultsFile: string | null;
  headline: Headline | null;
}

export interface BenchReport {
  version: 1;
  profile: Profile;
  machine: Record<string, unknown>;
  benches: BenchRun[];
}

export function newReport(profile: Profile): BenchReport {
  return { version: 1, profile, machine: machine(), benches: [] };
}

/** The headline a bench wrote into its results file (null when it wrote none or no file). */
export function headlineOf(file: string): Headline | null {
  if (!existsSync(file)) return null;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { headline?: Headline };
    return data.headline ?? null;
  } catch {
    return null;
  }
}

export function loadReport(file: string): BenchReport {
  let data: Partial<BenchReport>;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Partial<BenchReport>;
  } catch (error) {
    throw new Error(`${file}: not a readable benchmark report (${(error as Error).message})`);
  }
  if (data.version !== 1 || !Array.isArray(data.benches)) throw new Error(`${file}: not a benchmark report (version 1); write one with npm run bench`);
  return data as BenchReport;
}

/** Every per-round figure of every bench, for the regression comparison. */
export function roundsMetrics(report: BenchReport): RoundsMetric[] {
  return report.benches.flatMap((b) => (b.headline?.rounds ?? []).map((r) => ({ bench: b.name, name: r.name, unit: r.unit, better: r.better, rounds: r.values })));
}

/** Load average during a run: sampled every second while it lasts. */
export function loadSampler(read: () => number): { stop(): { duringMean: number; duringMax: number } } {
  const samples: number[] = [read()];
  const timer = setInterval(() => samples.push(read()), 1000);
  return {
    stop() {
      clearInterval(timer);
      samples.push(read());
      return { duringMean: samples.reduce((s, v) => s + v, 0) / samples.length, duringMax: Math.max(...samples) };
    },
  };
}
