import { describe, expect, it } from 'vitest';
import { Scratch } from '../../src/analysis/scratch.ts';
import { seriesFromCloses } from '../../src/analysis/series.ts';
import { catalogue, strategyDefinition, validateParams } from '../../src/analysis/strategies/catalogue.ts';
import { BadRequestError } from '../../src/kernel/errors.ts';

function signalsOf(type: string, params: Record<string, number>, closes: number[]): number[] {
  const spec = validateParams(type, params);
  const series = seriesFromCloses(closes);
  const out = new Int8Array(closes.length);
  strategyDefinition(type).signals(series, spec.params, out, new Scratch());
  return Array.from(out);
}

describe('strategy signals (hand-computed)', () => {
  it('sma crossover', () => {
    // SMA2: –,1.5,2.5,3.5,3.5,2.5,1.5,1.5,2.5   SMA3: –,–,2,3,3.33,3,2,1.67,2
    expect(signalsOf('sma_crossover', { fastPeriod: 2, slowPeriod: 3 }, [1, 2, 3, 4, 3, 2, 1, 2, 3])).toEqual([0, 0, 1, 1, 1, -1, -1, -1, 1]);
  });

  it('momentum with a dead zone', () => {
    // ROC2: –,–,0,.2,.2,−.167,−.25,−.1 (inside the band: hold),.222
    expect(signalsOf('momentum', { lookback: 2, threshold: 0.1 }, [10, 10, 10, 12, 12, 10, 9, 9, 11])).toEqual([0, 0, 0, 1, 1, -1, -1, -1, 1]);
  });

  it('mean reversion on z-scores', () => {
    // i=4: window 10,10,7 → z=−1.41 → long; i=5: z=+0.71 ≥ −0.5 → exit; i=7: 10,10,13 → z=+1.41 → short; i=8: z=−0.71 → exit
    expect(signalsOf('mean_reversion', { period: 3, entryZ: 1, exitZ: 0.5 }, [10, 10, 10, 10, 7, 10, 10, 13, 10])).toEqual([0, 0, 0, 0, 1, 0, 0, -1, 0]);
  });

  it('channel breakout with a shorter exit channel', () => {
    // highs 10,11,11,11,13,13,12,10.5,9 · lows 10,10,10,10,11,12,10.5,9,8
    // i=4: 13 > max(highs 1..3)=11 → long; i=6: 10.5 < min(lows 4..5)=11 → exit; i=7: 9 < min(lows 4..6)=10.5 → short
    expect(signalsOf('breakout', { entryPeriod: 3, exitPeriod: 2 }, [10, 11, 10, 11, 13, 12, 10.5, 9, 8])).toEqual([0, 0, 0, 0, 1, 1, 0, -1, -1]);
  });
});

describe('catalogue and parameter validation', () => {
  it('lists the four strategies with schemas and defaults that validate', () => {
    const entries = catalogue();
    expect(entries.map((e) => e.type)).toEqual(['sma_crossover', 'momentum', 'mean_reversion', 'breakout']);
    for (const e of entries) {
      expect(e.parameters).toHaveProperty('properties');
      expect(validateParams(e.type, {}).params).toEqual(e.defaults);
    }
  });

  it.each([
    ['sma_crossover', { fastPeriod: 1 }, 'params.fastPeriod must be ≥ 2'],
    ['sma_crossover', { fastPeriod: 2.5 }, 'params.fastPeriod must be an integer'],
    ['sma_crossover', { fastPeriod: 40, slowPeriod: 30 }, 'params.fastPeriod must be < params.slowPeriod (30)'],
    ['momentum', { lookback: 'x' }, 'params.lookback must be an integer'],
    ['mean_reversion', { entryZ: 0 }, 'params.entryZ must be > 0'],
    ['breakout', { entryPeriod: 10, exitPeriod: 20 }, 'params.exitPeriod must be ≤ params.entryPeriod (10)'],
    ['breakout', { bogus: 1 }, 'params.bogus is not a parameter of this strategy'],
  ])('%s %j → 400 "%s"', (type, params, message) => {
    let error: unknown;
    try {
      validateParams(type, params);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toBe(message);
    expect((error as BadRequestError).status).toBe(400);
  });

  it('rejects an unknown type naming the field', () => {
    expect(() => validateParams('astrology')).toThrow(/strategy\.type must be one of/);
  });
});
