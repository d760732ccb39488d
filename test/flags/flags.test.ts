import { describe, expect, it } from 'vitest';
import { FeatureFlags, rolloutBucket } from '../../src/config/flags.ts';
import { compareCohorts, MIN_COHORT_REQUESTS } from '../../src/flags/comparison.ts';
import { createHistogram, recordMs } from '../../src/kernel/histogram.ts';

const ACCOUNTS = Array.from({ length: 2_000 }, (_, i) => i + 1);

describe('flag rollouts by accounts', () => {
  it('10% of 2,000 accounts is about 200, and those stay on at 25% (10% ⊂ 25%); unidentified callers are off', () => {
    const flags = new FeatureFlags();
    const on = flags.register({ name: 'cache.l1', description: 'x', default: false });
    flags.apply('cache.l1', { mode: 'accounts', percent: 10 });
    const at10 = ACCOUNTS.filter((a) => on(a));
    // ±4 standard deviations of a binomial(2000, 0.1): the hash is fixed, so this never flips.
    expect(at10.length).toBeGreaterThan(200 - 4 * 13.4);
    expect(at10.length).toBeLessThan(200 + 4 * 13.4);
    expect(on()).toBe(false);
    flags.apply('cache.l1', { mode: 'accounts', percent: 25 });
    const at25 = new Set(ACCOUNTS.filter((a) => on(a)));
    expect(at25.size).toBeGreaterThan(500 - 4 * 19.4);
    expect(at10.every((a) => at25.has(a))).toBe(true);
    // The bucket decides: the same function on every instance, string or number ids alike.
    expect(at10.every((a) => rolloutBucket('cache.l1', a) < 10_000 && rolloutBucket('cache.l1', String(a)) < 10_000)).toBe(true);
  });

  it('different flags pick different accounts (the flag name is in the hash)', () => {
    const flags = new FeatureFlags();
    const a = flags.register({ name: 'a.one', description: 'x', default: false });
    const b = flags.register({ name: 'b.two', description: 'x', default: false });
    flags.apply('a.one', { mode: 'accounts', percent: 50 });
    flags.apply('b.two', { mode: 'accounts', percent: 50 });
    const same = ACCOUNTS.filter((id) => a(id) === b(id)).length;
    expect(same).toBeGreaterThan(800);
    expect(same).toBeLessThan(1_200);
  });

  it('by requests: about the percentage of calls; 0% and 100% are plain off and on', () => {
    const flags = new FeatureFlags();
    const on = flags.register({ name: 'x.y', description: 'x', default: true });
    flags.apply('x.y', { mode: 'requests', percent: 30 });
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (on()) hits++;
    // sd of binomial(20000, 0.3) ≈ 65: ±8 sd.
    expect(Math.abs(hits - 6_000)).toBeLessThan(520);
    flags.apply('x.y', { mode: 'accounts', percent: 100 });
    expect(flags.get('x.y')).toMatchObject({ enabled: true, source: 'database', rollout: { mode: 'on', percent: 100 } });
    flags.apply('x.y', { mode: 'requests', percent: 0 });
    expect(flags.get('x.y')).toMatchObject({ enabled: false, rollout: { mode: 'off', percent: 0 } });
    // No shared state: back to configuration and default.
    flags.apply('x.y', null);
    expect(flags.get('x.y')).toMatchObject({ enabled: true, source: 'default', rollout: { mode: 'on' } });
  });

  it('a shared state that arrives before its flag registers applies when it does, and wins over TACHYON_FLAGS', () => {
    const flags = new FeatureFlags({ 'late.flag': false });
    flags.apply('late.flag', { mode: 'on', percent: 100 });
    const on = flags.register({ name: 'late.flag', description: 'x', default: false });
    expect(on()).toBe(true);
    flags.apply('late.flag', null);
    expect(flags.get('late.flag')).toMatchObject({ enabled: false, source: 'config' });
  });
});

describe('cohort comparison', () => {
  const histogram = (values: number[]) => {
    const h = createHistogram();
    for (const v of values) recordMs(h, v);
    return h;
  };
  const spread = (from: number, to: number, n: number) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / n);

  it('a faster cohort is found faster, with its percentiles and ratios', () => {
    const result = compareCohorts(histogram(spread(1, 2, 300)), histogram(spread(1.5, 3, 300)));
    expect(result.verdict).toBe('faster');
    expect(result.test.pValue).toBeLessThan(0.01);
    expect(result.on.count).toBe(300);
    expect(result.on.p50).toBeCloseTo(1.5, 1);
    expect(result.off.p99).toBeCloseTo(2.98, 1);
    expect(result.ratio.p50).toBeLessThan(1);
    expect(result.test.probabilityOnFaster).toBeGreaterThan(0.7);
    expect(compareCohorts(histogram(spread(1.5, 3, 300)), histogram(spread(1, 2, 300))).verdict).toBe('slower');
  });

  it('the same distribution is no significant difference; too few requests is no verdict', () => {
    const same = compareCohorts(histogram(spread(1, 5, 200)), histogram(spread(1, 5, 400)));
    expect(same.verdict).toBe('no significant difference');
    expect(same.test.pValue).toBeGreaterThan(0.5);
    const few = compareCohorts(histogram(spread(1, 2, MIN_COHORT_REQUESTS - 1)), histogram(spread(5, 6, 100)));
    expect(few.verdict).toBe('insufficient data');
  });
});
