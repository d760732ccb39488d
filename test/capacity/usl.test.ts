import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadMeasurements } from '../../src/capacity/measurements.ts';
import { renderMarkdown, renderSvg, spliceGenerated } from '../../src/capacity/report.ts';
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

describe('capacity from measurements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-capacity-'));
  const file = join(dir, 'capacity.json');
  const truth = { lambda: 1000, sigma: 0.05, kappa: 0.001 };
  writeFileSync(
    file,
    JSON.stringify({
      machine: { date: '2026-11-25T00:00:00Z' },
      points: [1, 2, 4, 8, 16, 32].map((n) => ({ concurrency: n, throughput: uslThroughput(truth, n), meanMs: 1, p95Ms: 2 })),
      p95ToMean: 2,
      instance: { cores: 1, memoryBytes: 200 * 1_048_576, databaseConnections: 20 },
    }),
  );

  it('the CLI answers from the file and writes the docs section with its plot; mistakes are one line', async () => {
    const { run } = await import('../../src/cli/capacity.ts');
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    try {
      expect(await run(['--users', '10000', '--requests-per-user', '1', '--target-p95', '5', '--measurements', file])).toBe(0);
      expect(JSON.parse(lines[0]!).answer).toMatchObject({ instances: 2, perInstance: { concurrency: 21 } });
      expect(await run(['--users', 'Infinity', '--requests-per-user', '1', '--measurements', file])).toBe(2);
      expect(lines.at(-1)).toMatch(/--users must be a positive number/);
      expect(await run(['--users', '10', '--requests-per-user', '1', '--measurements', join(dir, 'missing.json')])).toBe(2);
      expect(lines.at(-1)).toMatch(/run `npm run bench:capacity` first/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  it('renders the generated section between its markers, keeping the prose around it', () => {
    const measurements = loadMeasurements(file);
    const answer = planCapacity(measurements.profile, { users: 1000, requestsPerUserPerSecond: 10, targetP95Ms: 5, headroom: 0.3 });
    const section = renderMarkdown(measurements, { users: 1000, requestsPerUserPerSecond: 10, targetP95Ms: 5, headroom: 0.3 }, answer, 'plot.svg');
    const page = spliceGenerated(spliceGenerated('# Capacity\n\nprose', section), section);
    expect(page.match(/capacity:generated:start/g)).toHaveLength(1);
    expect(page).toContain('prose');
    expect(page).toContain(`| instances | **${answer.instances}** |`);
    const svg = renderSvg(measurements);
    expect(svg).toMatch(/^<svg [^>]+>/);
    expect(svg.match(/<circle /g)).toHaveLength(6);
  });
});
