/**
 * Stages as piecewise-linear functions of time, and the open model's arrival schedule.
 * Arrival i is due when the integral of the rate reaches i (the first at t=0), so the number of
 * iterations is exact and independent of timer jitter; only their timing can slip, which the
 * executor then charges to latency (coordinated-omission correction).
 */
export interface Segment {
  /** Segment start and length, ms. */
  start: number;
  length: number;
  /** Value at the start and at the end of the segment (rate per ms, or VUs). */
  from: number;
  to: number;
}

export interface StageInput {
  durationMs: number;
  target: number;
}

export function segmentsOf(startValue: number, stages: readonly StageInput[]): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  let from = startValue;
  for (const stage of stages) {
    segments.push({ start, length: stage.durationMs, from, to: stage.target });
    start += stage.durationMs;
    from = stage.target;
  }
  return segments;
}

export function totalLength(segments: readonly Segment[]): number {
  const last = segments.at(-1);
  return last ? last.start + last.length : 0;
}

/** Value of the piecewise-linear function at t (clamped to the ends). */
export function valueAt(segments: readonly Segment[], t: number): number {
  for (const s of segments) {
    if (t < s.start + s.length) return s.length === 0 ? s.to : s.from + ((s.to - s.from) * Math.max(0, t - s.start)) / s.length;
  }
  return segments.at(-1)?.to ?? 0;
}

/**
 * Due times (ms from start) of arrivals for a piecewise-linear rate (per ms).
 * `shard`/`shards` let N worker threads split one schedule exactly: shard k takes arrivals k, k+N, k+2N…
 */
export class ArrivalSchedule {
  private index: number;
  private segment = 0;
  /** Arrivals (real-valued integral) accumulated before the current segment. */
  private before = 0;

  constructor(
    private readonly segments: readonly Segment[],
    private readonly shard = 0,
    private readonly shards = 1,
  ) {
    this.index = shard;
  }

  /** Due time of the next arrival, or undefined once the schedule is exhausted. */
  next(): number | undefined {
    const target = this.index;
    while (this.segment < this.segments.length) {
      const s = this.segments[this.segment] as Segment;
      const inSegment = (s.from + s.to) * s.length / 2;
      // A small epsilon keeps float error from dropping the arrival that falls exactly on a boundary twice.
      if (target < this.before + inSegment - 1e-9) {
        this.index += this.shards;
        return s.start + timeToReach(s, target - this.before);
      }
      this.before += inSegment;
      this.segment++;
    }
    return undefined;
  }

  /** Total arrivals of the whole (unsharded) schedule. */
  static expectedCount(segments: readonly Segment[]): number {
    const total = segments.reduce((n, s) => n + ((s.from + s.to) * s.length) / 2, 0);
    return Math.ceil(total - 1e-9);
  }

  get shardInfo(): { shard: number; shards: number } {
    return { shard: this.shard, shards: this.shards };
  }
}

/** Time into segment s at which its integral reaches n: solves from·t + (to−from)·t²/(2·length) = n. */
function timeToReach(s: Segment, n: number): number {
  const slope = (s.to - s.from) / s.length;
  if (Math.abs(slope) < 1e-15) return n / s.from;
  // Quadratic a·t² + b·t − n = 0 with a = slope/2, b = from; the root in [0, length] is the smaller positive one.
  const disc = s.from * s.from + 2 * slope * n;
  return (-s.from + Math.sqrt(Math.max(0, disc))) / slope;
}
