import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/kernel/token-bucket.ts';

const takeAll = (bucket: TokenBucket, now: number, perSecond?: number) => {
  let n = 0;
  while (bucket.take(now, perSecond)) n++;
  return n;
};

describe('TokenBucket', () => {
  it('allows one second’s burst, then refills continuously', () => {
    const bucket = new TokenBucket(10, 0);
    expect(takeAll(bucket, 0)).toBe(10);
    expect(takeAll(bucket, 100)).toBe(1);
    expect(takeAll(bucket, 10_000)).toBe(10); // never more than one second's allowance
  });

  it('applies a rate changed at run time at once, and a clock stepping back refills nothing', () => {
    const bucket = new TokenBucket(10, 1_000);
    expect(takeAll(bucket, 1_000, 2)).toBe(2);
    expect(takeAll(bucket, 500, 2)).toBe(0);
    expect(takeAll(bucket, 1_500, 2)).toBe(1);
  });
});
