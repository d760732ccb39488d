/**
 * Interleaved rounds of closed-model HTTP load (autocannon, keep-alive): every round measures every
 * case once, one after another (the order alternating between rounds), so drift on a shared machine hits all of them alike, and each case's
 * figures can be divided by the reference's of the same round. What the regression gate
 * (bench:gate) measures, and what its tests measure on real servers.
 */
import autocannon from 'autocannon';
import type { Percentiles } from './results.ts';

export interface RoundCase {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

export interface RoundFigures extends Percentiles {
  requestsPerSecond: number;
  errors: number;
}

export interface RoundsOptions {
  rounds: number;
  seconds: number;
  connections: number;
  /** Called after each measurement (progress). */
  onMeasured?: (round: number, name: string, figures: RoundFigures) => void;
}

export async function measureOnce(c: RoundCase, seconds: number, connections: number): Promise<RoundFigures> {
  const result = await autocannon({ url: c.url, connections, duration: seconds, headers: c.headers ?? {} });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p95: interpolateP95(result.latency.p90, result.latency.p97_5),
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/** autocannon reports p90 and p97.5 but no p95: linear between them (good enough for a ratio between like runs). */
function interpolateP95(p90: number, p975: number): number {
  return p90 + ((p975 - p90) * (95 - 90)) / (97.5 - 90);
}

/** Figures per case, one entry per round, cases measured in turn inside each round. */
export async function interleavedRounds(cases: readonly RoundCase[], options: RoundsOptions): Promise<Map<string, RoundFigures[]>> {
  const out = new Map<string, RoundFigures[]>(cases.map((c) => [c.name, []]));
  // Warm-up: connections, JIT and caches, unrecorded.
  for (const c of cases) await measureOnce(c, 1, options.connections);
  for (let round = 0; round < options.rounds; round++) {
    // Alternate the order (A B, B A …) so being measured first or last in a round favours no case.
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      const figures = await measureOnce(c, options.seconds, options.connections);
      out.get(c.name)!.push(figures);
      options.onMeasured?.(round, c.name, figures);
    }
  }
  return out;
}

/** Per-round ratios of one case's figure to another's (the reference's in the same round). */
export function roundRatios(cases: Map<string, RoundFigures[]>, subject: string, reference: string, figure: keyof RoundFigures): number[] {
  const s = cases.get(subject) ?? [];
  const r = cases.get(reference) ?? [];
  return s.map((f, i) => f[figure] / (r[i]?.[figure] ?? NaN));
}
