import { describe, expect, it } from 'vitest';
import { planOf } from '../../src/loadtest/plan.ts';
import { ArrivalSchedule, segmentsOf, valueAt } from '../../src/loadtest/schedule.ts';
import { parseDuration } from '../../src/loadtest/duration.ts';

function allArrivals(schedule: ArrivalSchedule): number[] {
  const out: number[] = [];
  for (let t = schedule.next(); t !== undefined; t = schedule.next()) out.push(t);
  return out;
}

describe('arrival schedule', () => {
  it('spaces a constant rate evenly and produces exactly rate × duration arrivals', () => {
    const plan = planOf({ type: 'constant-arrival-rate', rate: 50, duration: '2s' });
    const times = allArrivals(new ArrivalSchedule(plan.segments));
    expect(times).toHaveLength(100);
    expect(times[0]).toBe(0);
    expect(times[1]).toBeCloseTo(20, 6);
    expect(times.at(-1)).toBeCloseTo(1980, 6);
  });

  it('ramps linearly: arrivals per second follow the stage targets', () => {
    // 0 → 100/s over 10 s, then hold 100/s for 5 s: 500 + 500 arrivals.
    const plan = planOf({ type: 'ramping-arrival-rate', startRate: 0, stages: [{ duration: '10s', target: 100 }, { duration: '5s', target: 100 }] });
    const times = allArrivals(new ArrivalSchedule(plan.segments));
    expect(times.length).toBe(1000);
    expect(ArrivalSchedule.expectedCount(plan.segments)).toBe(1000);
    const perSecond = new Array(15).fill(0);
    for (const t of times) perSecond[Math.floor(t / 1000)]++;
    // Second k of the ramp has average rate 10·k + 5.
    for (let k = 0; k < 10; k++) expect(Math.abs(perSecond[k] - (10 * k + 5))).toBeLessThanOrEqual(1);
    for (let k = 10; k < 15; k++) expect(perSecond[k]).toBe(100);
    // Monotone and never beyond the end.
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(times.at(-1) as number).toBeLessThan(15_000);
  });

  it('ramps down too', () => {
    const plan = planOf({ type: 'ramping-arrival-rate', startRate: 100, stages: [{ duration: '4s', target: 0 }] });
    const times = allArrivals(new ArrivalSchedule(plan.segments));
    expect(times.length).toBe(200);
    const firstHalf = times.filter((t) => t < 2000).length;
    // ∫₀² (100 − 25t) dt = 150; the arrival on the boundary may land either side of it.
    expect(firstHalf).toBeGreaterThanOrEqual(150);
    expect(firstHalf).toBeLessThanOrEqual(151);
  });

  it('shards split one schedule exactly across threads', () => {
    const plan = planOf({ type: 'constant-arrival-rate', rate: 1000, duration: '1s' });
    const whole = allArrivals(new ArrivalSchedule(plan.segments));
    const shards = [0, 1, 2].map((k) => allArrivals(new ArrivalSchedule(plan.segments, k, 3)));
    expect(shards.map((s) => s.length)).toEqual([334, 333, 333]);
    expect(shards.flat().sort((a, b) => a - b)).toEqual(whole);
  });

  it('interpolates VU stages (ramp up, hold, ramp down)', () => {
    const segments = segmentsOf(0, [{ durationMs: 1000, target: 10 }, { durationMs: 1000, target: 10 }, { durationMs: 1000, target: 0 }]);
    expect(valueAt(segments, 0)).toBe(0);
    expect(valueAt(segments, 500)).toBe(5);
    expect(valueAt(segments, 1500)).toBe(10);
    expect(valueAt(segments, 2500)).toBe(5);
    expect(valueAt(segments, 99_000)).toBe(0);
  });

  it('parses k6 durations and rejects nonsense', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(42)).toBe(42);
    expect(() => parseDuration('soon')).toThrow(/invalid duration/);
    expect(() => parseDuration('10x')).toThrow(/invalid duration/);
  });

  it('validates executor configs with clear messages', () => {
    expect(() => planOf({ type: 'constant-vus', vus: 0, duration: '1s' })).toThrow(/vus must be a positive integer/);
    expect(() => planOf({ type: 'ramping-vus', stages: [] })).toThrow(/stages/);
    expect(() => planOf({ type: 'constant-arrival-rate', rate: -1, duration: '1s' })).toThrow(/invalid rate/);
  });
});
