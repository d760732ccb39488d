/**
 * Execution segments (k6's model): the run is cut into `shards` equal shares, one per load-generating
 * thread in the whole fleet, and each agent takes as many as it has threads, so its segment is the
 * fraction from:to of the run. Shares interleave rather than cut the timeline: shard k runs arrivals
 * k, k+N, k+2N… and VUs k+1, k+1+N… (schedule.ts, the executors), so every agent's share is spread
 * over the whole run like k6's striped segment sequences, and the union of all shares is exactly the
 * single-process schedule.
 */
export interface AgentSegment {
  /** Shard indices this agent runs (one thread each). */
  shardIds: number[];
  /** The fraction of the run, as k6 writes an execution segment: "0:1/3", "1/3:2/3", "2/3:1". */
  segment: string;
}

export function assignSegments(threadsPerAgent: readonly number[]): { shards: number; segments: AgentSegment[] } {
  if (threadsPerAgent.length === 0 || threadsPerAgent.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError('every agent needs at least one thread');
  }
  const shards = threadsPerAgent.reduce((sum, n) => sum + n, 0);
  let offset = 0;
  const segments = threadsPerAgent.map((threads) => {
    const shardIds = Array.from({ length: threads }, (_, i) => offset + i);
    const segment = `${fraction(offset, shards)}:${fraction(offset + threads, shards)}`;
    offset += threads;
    return { shardIds, segment };
  });
  return { shards, segments };
}

function fraction(numerator: number, denominator: number): string {
  if (numerator === 0) return '0';
  if (numerator === denominator) return '1';
  const d = gcd(numerator, denominator);
  return `${numerator / d}/${denominator / d}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
