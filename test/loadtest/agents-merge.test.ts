/**
 * The arithmetic a distributed run rests on, without processes: merging agents' HDR histograms (as
 * their wire snapshots) gives exactly the percentiles of one histogram of every sample, and the
 * execution segments split a schedule into shares whose union is exactly the single-process schedule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHistogram, latencyStats, percentileMs, recordMs } from '../../src/kernel/histogram.ts';
import { assignSegments } from '../../src/loadtest/distributed/segments.ts';
import { MetricsRegistry, aggregate } from '../../src/loadtest/metrics.ts';
import { planOf } from '../../src/loadtest/plan.ts';
import { ArrivalSchedule } from '../../src/loadtest/schedule.ts';

const PERCENTILES = [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

describe('merging agents’ histograms', () => {
  it('equals one histogram of all samples, percentile for percentile (never an average of percentiles)', () => {
    const sample = fc.record({
      ms: fc.double({ min: 0.001, max: 60_000, noNaN: true }),
      agent: fc.integer({ min: 0, max: 2 }),
      second: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(fc.property(fc.array(sample, { minLength: 1, maxLength: 200 }), (samples) => {
      const start = 1_000_000;
      const single = new MetricsRegistry(start);
      const agents = [0, 1, 2].map(() => new MetricsRegistry(start));
      for (const s of samples) {
        single.addTrend('http_req_duration', { endpoint: 'quotes' }, s.ms, start + s.second * 1000 + 10);
        agents[s.agent]!.addTrend('http_req_duration', { endpoint: 'quotes' }, s.ms, start + s.second * 1000 + 10);
      }
      // What the coordinator does: each agent's drained wire snapshot (JSON, as over HTTP) merged in.
      const coordinator = new MetricsRegistry(start);
      for (const agent of agents) coordinator.merge(JSON.parse(JSON.stringify(agent.drain())));
      const merged = aggregate(coordinator.select('http_req_duration'))!.histogram!;
      const reference = aggregate(single.select('http_req_duration'))!.histogram!;
      expect(merged.totalCount).toBe(samples.length);
      for (const p of PERCENTILES) expect(percentileMs(merged, p)).toBe(percentileMs(reference, p));
      // Min, max and mean come back from the wire form at the histogram's resolution (3 significant digits).
      const [m, r] = [latencyStats(merged), latencyStats(reference)];
      for (const k of ['min', 'max', 'avg'] as const) expect(Math.abs(m[k] - r[k])).toBeLessThanOrEqual(r[k] * 1e-3 + 1e-3);
      // Per second too (the timeline and sliding-window thresholds read buckets).
      for (let sec = 0; sec <= 4; sec++) {
        expect(aggregate(coordinator.select('http_req_duration'), sec, sec)?.histogram?.totalCount ?? 0)
          .toBe(aggregate(single.select('http_req_duration'), sec, sec)?.histogram?.totalCount ?? 0);
      }
    }), { numRuns: 15, seed: 21 });
  }, 120_000);

  it('is not what averaging the agents’ percentiles gives (the mistake the merge avoids)', () => {
    // One fast agent and one slow agent: the true p99 is the slow agent's tail, the average is not.
    const fast = createHistogram();
    const slow = createHistogram();
    for (let i = 0; i < 990; i++) recordMs(fast, 1);
    for (let i = 0; i < 10; i++) recordMs(slow, 1000);
    for (let i = 0; i < 990; i++) recordMs(slow, 1);
    const all = createHistogram();
    all.add(fast);
    all.add(slow);
    const averaged = (percentileMs(fast, 99) + percentileMs(slow, 99)) / 2;
    expect(percentileMs(all, 99.5)).toBeGreaterThan(900);
    expect(averaged).toBeLessThan(600);
  });

  it('adds counters and rates exactly', () => {
    const start = 0;
    const a = new MetricsRegistry(start);
    const b = new MetricsRegistry(start);
    a.addCounter('http_reqs', {}, 7, 100);
    b.addCounter('http_reqs', {}, 5, 1100);
    a.addRate('checks', {}, true, 100);
    b.addRate('checks', {}, false, 100);
    b.addRate('checks', {}, true, 100);
    const merged = new MetricsRegistry(start);
    merged.merge(a.drain());
    merged.merge(b.drain());
    expect(aggregate(merged.select('http_reqs'))).toMatchObject({ sum: 12, seconds: 2 });
    expect(aggregate(merged.select('checks'))).toMatchObject({ pass: 2, total: 3 });
  });
});

describe('execution segments', () => {
  it('give each agent a share proportional to its threads, written as k6 writes segments', () => {
    expect(assignSegments([1, 1, 1])).toEqual({
      shards: 3,
      segments: [{ shardIds: [0], segment: '0:1/3' }, { shardIds: [1], segment: '1/3:2/3' }, { shardIds: [2], segment: '2/3:1' }],
    });
    expect(assignSegments([2, 1, 1]).segments.map((s) => s.segment)).toEqual(['0:1/2', '1/2:3/4', '3/4:1']);
    expect(() => assignSegments([])).toThrow();
    expect(() => assignSegments([1, 0])).toThrow();
  });

  it('split an arrival schedule into shares whose union is exactly the whole schedule, each spread over the run', () => {
    const plan = planOf({ type: 'ramping-arrival-rate', startRate: 50, stages: [{ duration: '2s', target: 150 }, { duration: '1s', target: 100 }], maxVUs: 300 });
    const all = dueTimes(new ArrivalSchedule(plan.segments));
    expect(all.length).toBe(ArrivalSchedule.expectedCount(plan.segments));
    const { shards, segments } = assignSegments([1, 2, 1]);
    const shares = segments.map(({ shardIds }) => shardIds.flatMap((shard) => dueTimes(new ArrivalSchedule(plan.segments, shard, shards))));
    expect(shares.flat().sort((x, y) => x - y)).toEqual(all);
    // The two-thread agent has half the arrivals, and every agent's share spans the whole run.
    expect(Math.abs(shares[1]!.length - all.length / 2)).toBeLessThanOrEqual(2);
    for (const share of shares) {
      expect(Math.min(...share)).toBeLessThan(100);
      expect(Math.max(...share)).toBeGreaterThan(2900);
    }
  });
});

function dueTimes(schedule: ArrivalSchedule): number[] {
  const out: number[] = [];
  for (let t = schedule.next(); t !== undefined; t = schedule.next()) out.push(t);
  return out;
}
