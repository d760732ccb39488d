/**
 * `tachyon capacity --mix FILE`: a load file (sessions, requests/s, orders/min, symbols) planned from
 * known measurements matches the hand calculation, orders are checked against the measured durable
 * order rate, the docs section says so, and a bad file is one clear line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkOrders, loadMix } from '../../src/capacity/mix.ts';
import { loadMeasurements } from '../../src/capacity/measurements.ts';
import { planCapacity } from '../../src/capacity/plan.ts';
import { renderMarkdown } from '../../src/capacity/report.ts';
import { uslThroughput } from '../../src/capacity/usl.ts';

const dir = mkdtempSync(join(tmpdir(), 'tachyon-mix-'));
const measurements = join(dir, 'capacity.json');
const orders = join(dir, 'orders.json');
const mixFile = join(dir, 'mix.json');
const truth = { lambda: 1000, sigma: 0.05, kappa: 0.001 };
writeFileSync(
  measurements,
  JSON.stringify({
    machine: { date: '2026-11-25T00:00:00Z' },
    points: [1, 2, 4, 8, 16, 32].map((n) => ({ concurrency: n, throughput: uslThroughput(truth, n), meanMs: 1, p95Ms: 2 })),
    p95ToMean: 2,
    instance: { cores: 1, memoryBytes: 200 * 1_048_576, databaseConnections: 20 },
  }),
);
writeFileSync(orders, JSON.stringify({ orders: { perSecond: 100 } }));
writeFileSync(mixFile, JSON.stringify({ name: 'seed-like', sessions: 1000, requestsPerSecond: 10_000, ordersPerMinute: 10_000, symbols: 2000, targetP95Ms: 5, headroom: 0.3 }));

describe('capacity for a load file', () => {
  it('matches the hand calculation, reads beside orders', () => {
    const mix = loadMix(mixFile);
    const answer = planCapacity(loadMeasurements(measurements).profile, { users: mix.sessions, requestsPerUserPerSecond: mix.requestsPerSecond / mix.sessions, targetP95Ms: mix.targetP95Ms!, headroom: mix.headroom! });
    // As in usl.test.ts: N = 21 meets 5 ms p95 (4.84 ms), X(21) = 8,677.7 req/s, 6,074.4 usable at 30%:
    // 10,000 req/s need ⌈1.646⌉ = 2 instances; seed 004's formula ⌈10,000 × 2.42 ms / 1000 / 100⌉ = 1.
    expect(answer).toMatchObject({ requiredRps: 10_000, instances: 2, perInstance: { concurrency: 21 }, linearFormula: { instances: 1 } });
    // 10,000 orders/min = 166.7/s against 100/s measured × 0.7 = 70/s usable: ⌈2.38⌉ = 3 instances.
    const check = checkOrders(mix, 0.3, orders);
    expect(check.ordersPerSecond).toBeCloseTo(166.667, 2);
    expect(check).toMatchObject({ measuredPerInstance: 100, instances: 3 });
    expect(checkOrders(mix, 0.3, join(dir, 'none.json'))).toMatchObject({ measuredPerInstance: null, instances: null });
    const md = renderMarkdown(loadMeasurements(measurements), { users: 1000, requestsPerUserPerSecond: 10, targetP95Ms: 5, headroom: 0.3 }, answer, 'p.svg', { mix, ...check });
    expect(md).toContain('The plan for seed-like: 1,000 users at 10.0 requests/s each');
    expect(md).toContain('3 instance(s) at 30% headroom for orders alone, so orders, not reads, set the floor');
    // More instances for reads than for orders: reads set the size, even when orders alone need several.
    const moreReads = renderMarkdown(loadMeasurements(measurements), { users: 1000, requestsPerUserPerSecond: 10, targetP95Ms: 5, headroom: 0.3 }, { ...answer, instances: 7 }, 'p.svg', { mix, ...check });
    expect(moreReads).toContain('3 instance(s) at 30% headroom for orders alone, so orders are not the limit; the read mix above (7) is');
  });

  it('the CLI takes --mix (flags beside it win) and names a bad file in one line', async () => {
    const { run } = await import('../../src/cli/capacity.ts');
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    try {
      expect(await run(['--mix', mixFile, '--measurements', measurements, '--orders-measurements', orders])).toBe(0);
      const out = JSON.parse(lines[0]!) as { question: unknown; answer: { instances: number }; orders: { instances: number } };
      expect(out.question).toEqual({ users: 1000, requestsPerUserPerSecond: 10, targetP95Ms: 5, headroom: 0.3 });
      expect(out.answer.instances).toBe(2);
      expect(out.orders.instances).toBe(3);
      expect(await run(['--mix', mixFile, '--users', '2000', '--measurements', measurements])).toBe(0);
      expect((JSON.parse(lines.at(-1)!) as { answer: { requiredRps: number } }).answer.requiredRps).toBe(20_000);
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ sessions: 10, requestsPerSecond: -1, ordersPerMinute: 1, symbols: 1 }));
      expect(await run(['--mix', bad, '--measurements', measurements])).toBe(2);
      expect(lines.at(-1)).toMatch(/requestsPerSecond must be a positive number/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
