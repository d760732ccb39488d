import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/market-data/random.ts';

describe('createRandom', () => {
  it('repeats the same sequence for the same seed and differs across seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const seqA = Array.from({ length: 100 }, () => a.next());
    const seqB = Array.from({ length: 100 }, () => b.next());
    const seqC = Array.from({ length: 100 }, () => c.next());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
  });

  it('draws uniforms in [0, 1), integers in [0, max) and standard normals', () => {
    const rng = createRandom(7);
    let sum = 0;
    let sumSq = 0;
    const n = 20_000;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      const k = rng.int(10);
      if (!(u >= 0 && u < 1) || !(Number.isInteger(k) && k >= 0 && k < 10)) outOfRange++;
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(outOfRange).toBe(0);
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
  });

  it('keeps distinct streams for large seeds that share their low 32 bits', () => {
    expect(createRandom(2 ** 32 + 5).next()).not.toBe(createRandom(5).next());
  });
});
