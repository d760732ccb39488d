/**
 * Seeded pseudo-random numbers for the simulation: xoshiro128** (fast on 32-bit integer math,
 * period 2^128 − 1, so a feed running for days never cycles) seeded through splitmix32, plus
 * Gaussian draws via Box–Muller. The same seed always yields the same sequence.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (mean 0, variance 1). */
  normal(): number;
  /** Uniform integer in [0, max). */
  int(max: number): number;
}

const TWO_POW_32 = 4_294_967_296;

class Xoshiro128 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // Mix the high bits in too, so seeds like Date.now() do not collapse onto their low 32 bits.
    let s = (Math.floor(seed) ^ Math.floor(seed / TWO_POW_32)) >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
  }

  next(): number {
    const b = this.b;
    const r = Math.imul(b, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9);
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return (result >>> 0) / TWO_POW_32;
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u = 1 - this.next(); // (0, 1]: log(0) never happens
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * v;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }
}

export function createRandom(seed: number): Random {
  return new Xoshiro128(seed);
}
