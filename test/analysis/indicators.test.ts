import { describe, expect, it } from 'vitest';
import { ema, momentum, rollingMax, rollingMin, rollingStd, sma } from '../../src/analysis/indicators.ts';

const x = Float64Array.from([1, 2, 3, 4, 3, 2, 1, 2, 3]);
const nanPrefix = (a: Float64Array, k: number) => expect(Array.from(a.subarray(0, k)).every(Number.isNaN)).toBe(true);

describe('indicators', () => {
  it('sma over 3 bars', () => {
    const out = sma(x, 3);
    nanPrefix(out, 2);
    expect(Array.from(out.subarray(2))).toEqual([2, 3, 10 / 3, 3, 2, 5 / 3, 2].map((v) => expect.closeTo(v, 12)));
  });

  it('ema seeded with the sma, alpha = 2/(n+1)', () => {
    const out = ema(x, 3);
    nanPrefix(out, 2);
    // seed 2, then v += 0.5 (x − v): 3, 3, 2.5, 1.75, 1.875, 2.4375
    expect(Array.from(out.subarray(2))).toEqual([2, 3, 3, 2.5, 1.75, 1.875, 2.4375]);
  });

  it('rolling population std', () => {
    const out = rollingStd(Float64Array.from([2, 4, 4, 4, 5, 5, 7, 9]), 8);
    expect(out[7]).toBeCloseTo(2, 12);
    const short = rollingStd(Float64Array.from([1, 3, 5]), 2);
    expect(Array.from(short.subarray(1))).toEqual([1, 1].map((v) => expect.closeTo(v, 12)));
  });

  it('std stays accurate for prices far from zero', () => {
    const out = rollingStd(Float64Array.from([1e6 + 1, 1e6 + 3, 1e6 + 1, 1e6 + 3]), 2);
    expect(out[3]).toBeCloseTo(1, 9);
  });

  it('rolling max/min with a monotonic deque', () => {
    const hi = rollingMax(x, 3);
    const lo = rollingMin(x, 3);
    expect(Array.from(hi.subarray(2))).toEqual([3, 4, 4, 4, 3, 2, 3]);
    expect(Array.from(lo.subarray(2))).toEqual([1, 2, 3, 2, 1, 1, 1]);
  });

  it('rolling max agrees with brute force on random data', () => {
    const data = Float64Array.from({ length: 500 }, (_, i) => Math.sin(i * 1.7) * 100 + (i % 7));
    const out = rollingMax(data, 17);
    for (let i = 16; i < data.length; i++) expect(out[i]).toBe(Math.max(...data.subarray(i - 16, i + 1)));
  });

  it('momentum is the rate of change', () => {
    const out = momentum(Float64Array.from([10, 11, 12, 9]), 2);
    nanPrefix(out, 2);
    expect(out[2]).toBeCloseTo(0.2, 12);
    expect(out[3]).toBeCloseTo(9 / 11 - 1, 12);
  });

  it('writes into a caller buffer and rejects bad periods', () => {
    const buf = new Float64Array(9);
    expect(sma(x, 2, buf)).toBe(buf);
    expect(() => sma(x, 0)).toThrow(RangeError);
  });
});
