import { describe, expect, it } from 'vitest';
import { planCapacity, type InstanceProfile } from '../../src/capacity/plan.ts';
import { fitUsl, uslThroughput } from '../../src/capacity/usl.ts';
import { createRandom } from '../../src/market-data/random.ts';

const LEVELS = [1, 2, 4, 8, 16, 32, 64];

describe('USL fit', () => {
  it('recovers known coefficients from exact data', () => {
    const truth = { lambda: 1200, sigma: 0.04, kappa: 0.0008 };
    const fit = fitUsl(LEVELS.map((n) => ({ concurrency: n, throughput: uslThroughput(truth, n) })));
    expect(fit.lambda).toBeCloseTo(truth.lambda, 0);
    expect(fit.sigma).toBeCloseTo(truth.sigma, 4);
    expect(fit.kappa).toBeCloseTo(truth.kappa, 6);
    expect(fit.r2).toBeCloseTo(1, 9);
    expect(fit.peakConcurrency).toBeCloseTo(Math.sqrt((1 - 0.04) / 0.0008), 3);
  });

  it('recovers them within a few percent from noisy measurements without a point at N = 1', () => {
    const truth = { lambda: 800, sigma: 0.1, kappa: 0.002 };
    const random = createRandom(7);
    const points = [2, 4, 8, 12, 16, 24, 32, 48].map((n) => ({ concurrency: n, throughput: uslThroughput(truth, n) * (1 + 0.02 * (random.next() - 0.5)) }));
    const fit = fitUsl(points);
    expect(Math.abs(fit.lambda / truth.lambda - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.sigma - truth.sigma)).toBeLessThan(0.02);
    expect(Math.abs(fit.kappa - truth.kappa)).toBeLessThan(0.0005);
    expect(fit.r2).toBeGreaterThan(0.99);
  });

  it('keeps coefficients non-negative on linear data and refuses too few points', () => {
    const fit = fitUsl(LEVELS.map((n) => ({ concurrency: n, throughput: 500 * n })));
    expect(fit.sigma).toBeGreaterThanOrEqual(0);
    expect(fit.kappa).toBeGreaterThanOrEqual(0);
    expect(fit.lambda).toBeCloseTo(500, 3);
    expect(() => fitUsl([{ concurrency: 1, throughput: 1 }, { concurrency: 2, throughput: 2 }])).toThrow(RangeError);
  });
});

describe('capacity plan', () => {
  const profile: InstanceProfile = {
    fit: { lambda: 1000, sigma: 0.05, kappa: 0.001, r2: 1, peakConcurrency: Math.sqrt(0.95 / 0.001), peakThroughput: 0 },
    p95ToMean: 2,
    cores: 1,
    memoryBytes: 200 * 1_048_576,
    databaseConnections: 20,
    redisBytesPerUser: 10_000,
  };

  it('matches the hand calculation', () => {
    // p95(N) = 2 × (1 + 0.05(N−1) + 0.001·N(N−1)) ms: N = 21 gives 4.84 ms, N = 22 gives 5.02 ms > 5.
    // X(21) = 21,000 / 2.42 = 8,677.7 req/s; at 30% headroom 6,074.4; 10,000 req/s need 2 instances.
    const answer = planCapacity(profile, { users: 10_000, requestsPerUserPerSecond: 1, targetP95Ms: 5, headroom: 0.3 });
    expect(answer.perInstance.concurrency).toBe(21);
    expect(answer.perInstance.throughput).toBeCloseTo(8677.69, 1);
    expect(answer.perInstance.usableRps).toBeCloseTo(6074.38, 1);
    expect(answer.instances).toBe(2);
    expect(answer).toMatchObject({ requiredRps: 10_000, cores: 2, memoryBytes: 400 * 1_048_576, databaseConnections: 40, redisBytes: 100_000_000, infeasible: null });
    // Seed 004: ⌈10,000 × 0.00242 s / 100⌉ = 1.
    expect(answer.linearFormula).toEqual({ responseTimeMs: expect.closeTo(2.42, 6), instances: 1 });
  });

  it('says when the target cannot be met', () => {
    const answer = planCapacity(profile, { users: 10, requestsPerUserPerSecond: 1, targetP95Ms: 1, headroom: 0.3 });
    expect(answer.infeasible).toMatch(/above the 1 ms target/);
  });
});
