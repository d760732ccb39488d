/**
 * Executor configs (k6 names and fields) normalized into one plan shape: a piecewise-linear
 * function of time giving the arrival rate (open model, per ms) or the number of active VUs (closed model).
 */
import { BadRequestError } from '../kernel/errors.ts';
import { parseDuration } from './duration.ts';
import type { ExecutorConfig, ThinkTime } from './scenario.ts';
import { segmentsOf, totalLength } from './schedule.ts';
import type { Segment } from './schedule.ts';

export interface OpenPlan {
  model: 'open';
  segments: Segment[];
  durationMs: number;
  /** Concurrency cap; an arrival finding every VU busy is dropped and counted (k6's dropped_iterations). */
  maxVUs: number;
  peakRatePerSec: number;
}

export interface ClosedPlan {
  model: 'closed';
  segments: Segment[];
  durationMs: number;
  maxVUs: number;
  thinkTime: { minMs: number; maxMs: number };
}

export type Plan = OpenPlan | ClosedPlan;

export function planOf(executor: ExecutorConfig): Plan {
  switch (executor.type) {
    case 'constant-arrival-rate': {
      const durationMs = positiveDuration(executor.duration, 'duration');
      const perMs = ratePerMs(executor.rate, executor.timeUnit);
      return openPlan([{ start: 0, length: durationMs, from: perMs, to: perMs }], executor.maxVUs, executor.preAllocatedVUs);
    }
    case 'ramping-arrival-rate': {
      const stages = stagesOf(executor.stages).map((s) => ({ durationMs: s.durationMs, target: ratePerMs(s.target, executor.timeUnit, true) }));
      return openPlan(segmentsOf(ratePerMs(executor.startRate ?? 0, executor.timeUnit, true), stages), executor.maxVUs, executor.preAllocatedVUs);
    }
    case 'constant-vus': {
      const durationMs = positiveDuration(executor.duration, 'duration');
      const vus = positiveInt(executor.vus, 'vus');
      return { model: 'closed', segments: [{ start: 0, length: durationMs, from: vus, to: vus }], durationMs, maxVUs: vus, thinkTime: thinkTimeOf(executor.thinkTime) };
    }
    case 'ramping-vus': {
      const stages = stagesOf(executor.stages);
      for (const s of stages) nonNegativeInt(s.target, 'stage target');
      const segments = segmentsOf(nonNegativeInt(executor.startVUs ?? 0, 'startVUs'), stages);
      const maxVUs = Math.max(...segments.map((s) => Math.max(s.from, s.to)));
      if (maxVUs < 1) throw new BadRequestError('ramping-vus needs at least one stage with target ≥ 1');
      return { model: 'closed', segments, durationMs: totalLength(segments), maxVUs, thinkTime: thinkTimeOf(executor.thinkTime) };
    }
    default:
      throw new BadRequestError(`unknown executor type "${(executor as { type: unknown }).type}"`);
  }
}

function openPlan(segments: Segment[], maxVUs: number | undefined, preAllocated: number | undefined): OpenPlan {
  const peakPerMs = Math.max(...segments.map((s) => Math.max(s.from, s.to)));
  if (!(peakPerMs > 0)) throw new BadRequestError('arrival rate must be positive somewhere in the run');
  const peakRatePerSec = peakPerMs * 1000;
  // Default cap: enough VUs for a 1 s stall at peak rate (bounded) before waits start queueing.
  const cap = maxVUs ?? preAllocated ?? Math.min(1000, Math.max(10, Math.ceil(peakRatePerSec)));
  return { model: 'open', segments, durationMs: totalLength(segments), maxVUs: positiveInt(cap, 'maxVUs'), peakRatePerSec };
}

function ratePerMs(rate: number, timeUnit: string | number | undefined, allowZero = false): number {
  if (!Number.isFinite(rate) || rate < 0 || (!allowZero && rate === 0)) throw new BadRequestError(`invalid rate ${rate}`);
  const unitMs = parseDuration(timeUnit ?? '1s');
  if (unitMs <= 0) throw new BadRequestError('timeUnit must be positive');
  return rate / unitMs;
}

function stagesOf(stages: Array<{ duration: string | number; target: number }>): Array<{ durationMs: number; target: number }> {
  if (!Array.isArray(stages) || stages.length === 0) throw new BadRequestError('stages must be a non-empty list');
  return stages.map((s, i) => {
    if (!Number.isFinite(s.target) || s.target < 0) throw new BadRequestError(`stage ${i + 1}: invalid target ${s.target}`);
    return { durationMs: parseDuration(s.duration), target: s.target };
  });
}

function positiveDuration(value: string | number, name: string): number {
  const ms = parseDuration(value);
  if (ms <= 0) throw new BadRequestError(`${name} must be positive`);
  return ms;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new BadRequestError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new BadRequestError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function thinkTimeOf(think: ThinkTime | undefined): { minMs: number; maxMs: number } {
  if (think === undefined) return { minMs: 0, maxMs: 0 };
  if (typeof think === 'object') {
    const minMs = parseDuration(think.min);
    const maxMs = parseDuration(think.max);
    if (maxMs < minMs) throw new BadRequestError('thinkTime.max must be ≥ thinkTime.min');
    return { minMs, maxMs };
  }
  const ms = parseDuration(think);
  return { minMs: ms, maxMs: ms };
}
