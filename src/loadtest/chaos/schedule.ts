/**
 * When each fault starts: after a warm-up, the faults in the given order, one slot each, evenly
 * spread over the run and repeated while they fit (a longer run cycles through them again), with a
 * tail at the end for the last recovery. Faults never overlap: one that is late (the previous fault
 * lasted longer, e.g. a slow restart) starts a little after it healed, and one that would no longer
 * fit is skipped and reported.
 */
import { BadRequestError } from '../../kernel/errors.ts';
import type { FaultKind } from './faults.ts';

export interface PlannedFault {
  kind: FaultKind;
  /** Since the load started. */
  atMs: number;
}

export interface ScheduleTimings {
  warmupMs: number;
  /** Left after the last fault's start, for it and its recovery. */
  tailMs: number;
  /** The shortest slot: a fault and its recovery. */
  minSlotMs: number;
}

export const DEFAULT_TIMINGS: ScheduleTimings = { warmupMs: 10_000, tailMs: 5_000, minSlotMs: 15_000 };

export function planSchedule(kinds: readonly FaultKind[], durationMs: number, t: ScheduleTimings = DEFAULT_TIMINGS): PlannedFault[] {
  const available = durationMs - t.warmupMs - t.tailMs;
  const slots = Math.floor(available / t.minSlotMs);
  if (slots < kinds.length) {
    const needed = t.warmupMs + t.tailMs + kinds.length * t.minSlotMs;
    throw new BadRequestError(`a chaos run of ${durationMs / 1000} s is too short for ${kinds.length} fault(s) (${kinds.join(', ')}): give --duration ${Math.ceil(needed / 1000)}s or more, or fewer --faults`);
  }
  // Whole cycles only: every fault runs as often as every other.
  const cycles = Math.floor(slots / kinds.length);
  const count = cycles * kinds.length;
  const slotMs = available / count;
  return Array.from({ length: count }, (_, i) => ({ kind: kinds[i % kinds.length]!, atMs: Math.round(t.warmupMs + i * slotMs) }));
}
