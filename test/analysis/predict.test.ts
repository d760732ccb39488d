import { describe, expect, it } from 'vitest';
import { normalQuantile, predict, validatePredictOptions } from '../../src/analysis/predict.ts';
import { mulberry32, randomWalkSeries, seriesFromCloses } from '../../src/analysis/series.ts';
import { BadRequestError, UnprocessableError } from '../../src/kernel/errors.ts';

/** Prices whose log returns follow r_t = 0.6 r_{t−1} + ε_t (ε ~ N(0, 0.01²) via Box–Muller). */
function ar1Closes(n: number, phi: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const closes = [100];
  let r = 0;
  for (let i = 1; i < n; i++) {
    const eps = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * 0.01;
    r = phi * r + eps;
    closes.push(closes[i - 1]! * Math.exp(r));
  }
  return closes;
}

describe('predictions', () => {
  it('normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 5);
  });

  it('AR recovers the coefficient of a simulated AR(1) and picks order 1 by AIC', () => {
    const series = seriesFromCloses(ar1Closes(5001, 0.6, 3));
    const p = predict(series, validatePredictOptions({ window: 5000, maxOrder: 5, horizon: 3 }));
    expect(p.fitted.order).toBe(1);
    expect(p.fitted.coefficients![0]).toBeCloseTo(0.6, 1);
    expect(p.fitted.sigma).toBeCloseTo(0.01, 3);
    expect(p.model).toBe('AR(1) Yule-Walker on log returns');
    expect(p.window.bars).toBe(5000);
  });

  it('AR(1) forecast mean and variance follow the closed forms', () => {
    const series = seriesFromCloses(ar1Closes(2001, 0.5, 9));
    const p = predict(series, validatePredictOptions({ window: 2000, order: 1, horizon: 2, confidence: 0.95 }));
    const phi = p.fitted.coefficients![0]!;
    const mu = p.fitted.meanReturn;
    const s = p.fitted.sigma;
    const lastR = Math.log(series.close[2000]! / series.close[1999]!) - mu;
    // 2-step cumulative: mean 2μ + φy + φ²y; variance σ²(1 + (1 + φ)²)
    const mean = 2 * mu + phi * lastR + phi * phi * lastR;
    const sd = s * Math.sqrt(1 + (1 + phi) ** 2);
    const f = p.forecast[1]!;
    expect(f.price).toBeCloseTo(p.lastClose * Math.exp(mean), 9);
    expect(f.upper).toBeCloseTo(p.lastClose * Math.exp(mean + 1.959964 * sd), 4);
    expect(f.lower).toBeLessThan(f.price);
    expect(f.ts - series.ts[2000]!).toBe(2 * 86_400_000);
  });

  it('EWMA: zero drift, band widening with √h', () => {
    const series = randomWalkSeries(600, 5);
    const p = predict(series, validatePredictOptions({ model: 'ewma', horizon: 4 }));
    expect(p.model).toMatch(/^EWMA/);
    const width = (i: number) => Math.log(p.forecast[i]!.upper / p.lastClose);
    expect(p.forecast[0]!.price).toBe(p.lastClose);
    expect(width(3) / width(0)).toBeCloseTo(2, 9);
    expect(p.fitted.sigma).toBeGreaterThan(0.005);
    expect(p.fitted.sigma).toBeLessThan(0.02);
  });

  it('refuses bad options and short histories', () => {
    expect(() => validatePredictOptions({ horizon: 0 })).toThrow(BadRequestError);
    expect(() => validatePredictOptions({ horizon: 0 })).toThrow(/^horizon/);
    expect(() => predict(seriesFromCloses([1, 2, 3]), validatePredictOptions())).toThrow(UnprocessableError);
  });

  it('is deterministic', () => {
    const series = randomWalkSeries(1000, 1);
    const o = validatePredictOptions();
    expect(predict(series, o)).toEqual(predict(series, o));
  });
});
