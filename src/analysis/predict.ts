/**
 * Price forecasts with confidence intervals from models fitted on the symbol's own history of log
 * returns. Cheap enough to run inline on the request thread (O(window · order)):
 *  - `ar`: AR(p) on demeaned log returns, fitted by Yule–Walker (Levinson–Durbin recursion), order
 *    chosen by AIC up to `maxOrder` unless fixed. The h-step variance sums the squared cumulative
 *    MA(∞) weights, so autocorrelation widens or narrows the band correctly.
 *  - `ewma`: RiskMetrics volatility (λ = 0.94 by default), zero drift, variance h·σ².
 * The interval is lognormal: price · exp(mean ± z·sd); the point forecast is the median, price · exp(mean).
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BadRequestError, unprocessable } from '../kernel/errors.ts';
import type { BarSeries } from './series.ts';

export const PredictOptionsSchema = Type.Object(
  {
    model: Type.Union([Type.Literal('ar'), Type.Literal('ewma')], { default: 'ar' }),
    horizon: Type.Integer({ minimum: 1, maximum: 500, default: 5, description: 'Bars ahead' }),
    window: Type.Integer({ minimum: 30, maximum: 100_000, default: 500, description: 'Bars of history fitted' }),
    confidence: Type.Number({ minimum: 0.5, maximum: 0.999, default: 0.95 }),
    order: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'AR order; chosen by AIC when absent' })),
    maxOrder: Type.Integer({ minimum: 1, maximum: 20, default: 10 }),
    lambda: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.94, description: 'EWMA decay' }),
  },
  { additionalProperties: false },
);
export type PredictOptions = Static<typeof PredictOptionsSchema>;

const DEFAULTS: PredictOptions = { model: 'ar', horizon: 5, window: 500, confidence: 0.95, maxOrder: 10, lambda: 0.94 };
const check = TypeCompiler.Compile(PredictOptionsSchema);

export function validatePredictOptions(input: unknown = {}): PredictOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new BadRequestError('options must be an object', { field: 'options' });
  const merged = { ...DEFAULTS, ...input };
  const error = check.Errors(merged).First();
  if (error) {
    const field = error.path.slice(1).replaceAll('/', '.') || 'options';
    throw new BadRequestError(`${field}: ${error.message}`, { field });
  }
  return merged as PredictOptions;
}

export interface ForecastPoint {
  step: number;
  ts: number;
  /** Median forecast price. */
  price: number;
  lower: number;
  upper: number;
}

export interface Prediction {
  model: string;
  fitted: { order?: number; coefficients?: number[]; meanReturn: number; sigma: number; lambda?: number; aic?: number };
  window: { from: number; to: number; bars: number };
  lastClose: number;
  confidence: number;
  forecast: ForecastPoint[];
}

/** Forecasts `options.horizon` bars past the end of `series` (options from validatePredictOptions). */
export function predict(series: BarSeries, options: PredictOptions): Prediction {
  const n = series.length;
  const bars = Math.min(options.window, n);
  if (bars < 30) throw unprocessable('insufficient_history', { minimum: 30, bars: n }, { bars: n, minimum: 30 });
  const start = n - bars;
  const returns = new Float64Array(bars - 1);
  for (let i = 0; i < returns.length; i++) returns[i] = Math.log(series.close[start + i + 1]! / series.close[start + i]!);
  const lastClose = series.close[n - 1]!;
  const lastTs = series.ts[n - 1]!;
  const stepMs = n > 1 ? lastTs - series.ts[n - 2]! : 0;
  const z = normalQuantile(0.5 + options.confidence / 2);
  const fit = options.model === 'ar' ? fitAr(returns, options) : fitEwma(returns, options.lambda, options.horizon);
  const forecast: ForecastPoint[] = [];
  for (let h = 1; h <= options.horizon; h++) {
    const mean = fit.cumMean[h - 1]!;
    const sd = Math.sqrt(fit.cumVar[h - 1]!);
    forecast.push({ step: h, ts: lastTs + h * stepMs, price: lastClose * Math.exp(mean), lower: lastClose * Math.exp(mean - z * sd), upper: lastClose * Math.exp(mean + z * sd) });
  }
  return {
    model: fit.name,
    fitted: fit.fitted,
    window: { from: series.ts[start]!, to: lastTs, bars },
    lastClose,
    confidence: options.confidence,
    forecast,
  };
}

interface Fit {
  name: string;
  fitted: Prediction['fitted'];
  /** Cumulative log-return mean and variance for 1..horizon steps ahead. */
  cumMean: Float64Array;
  cumVar: Float64Array;
}

function mean(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length > 0 ? s / x.length : 0;
}

/** Sample autocovariances γ₀..γ_p of demeaned data (biased 1/m estimator: keeps Yule–Walker stable). */
function autocovariance(y: Float64Array, p: number): Float64Array {
  const m = y.length;
  const gamma = new Float64Array(p + 1);
  for (let k = 0; k <= p; k++) {
    let s = 0;
    for (let t = k; t < m; t++) s += y[t]! * y[t - k]!;
    gamma[k] = s / m;
  }
  return gamma;
}

/** Levinson–Durbin: AR coefficients and innovation variance for every order 1..p in O(p²). */
function levinson(gamma: Float64Array, p: number): { phis: Float64Array[]; sigma2: Float64Array } {
  const phis: Float64Array[] = [];
  const sigma2 = new Float64Array(p + 1);
  sigma2[0] = gamma[0]!;
  let prev = new Float64Array(0);
  for (let k = 1; k <= p; k++) {
    let acc = gamma[k]!;
    for (let j = 1; j < k; j++) acc -= prev[j - 1]! * gamma[k - j]!;
    const reflection = sigma2[k - 1]! > 0 ? acc / sigma2[k - 1]! : 0;
    const next = new Float64Array(k);
    for (let j = 1; j < k; j++) next[j - 1] = prev[j - 1]! - reflection * prev[k - j - 1]!;
    next[k - 1] = reflection;
    sigma2[k] = sigma2[k - 1]! * (1 - reflection * reflection);
    phis.push(next);
    prev = next;
  }
  return { phis, sigma2 };
}

function fitAr(returns: Float64Array, options: PredictOptions): Fit {
  const m = returns.length;
  const mu = mean(returns);
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) y[i] = returns[i]! - mu;
  // An order above m/4 would fit noise from too few lags' worth of data.
  const maxOrder = Math.max(1, Math.min(options.order ?? options.maxOrder, Math.floor(m / 4)));
  const { phis, sigma2 } = levinson(autocovariance(y, maxOrder), maxOrder);
  const aicOf = (k: number) => m * Math.log(Math.max(sigma2[k]!, 1e-300)) + 2 * k;
  let order = maxOrder;
  let aic = aicOf(maxOrder);
  if (options.order === undefined) {
    for (let k = 1; k < maxOrder; k++) {
      if (aicOf(k) < aic) {
        aic = aicOf(k);
        order = k;
      }
    }
  }
  const phi = phis[order - 1]!;
  const sigma = Math.sqrt(sigma2[order]!);
  const h = options.horizon;
  // Point forecasts of future demeaned returns, seeded with the last `order` observations.
  const path = new Float64Array(order + h);
  for (let j = 0; j < order; j++) path[j] = y[m - order + j]!;
  // ψ weights of the MA(∞) form: ψ₀ = 1, ψ_j = Σ φ_i ψ_{j−i}.
  const psi = new Float64Array(h);
  psi[0] = 1;
  const cumMean = new Float64Array(h);
  const cumVar = new Float64Array(h);
  let meanSum = 0;
  let psiSum = 0;
  let varSum = 0;
  for (let s = 0; s < h; s++) {
    let f = 0;
    for (let i = 1; i <= order; i++) f += phi[i - 1]! * path[order + s - i]!;
    path[order + s] = f;
    meanSum += mu + f;
    if (s > 0) {
      let w = 0;
      for (let i = 1; i <= Math.min(s, order); i++) w += phi[i - 1]! * psi[s - i]!;
      psi[s] = w;
    }
    psiSum += psi[s]!;
    // Var(Σ_{1..h} r) = σ² Σ_{m=0}^{h−1} (ψ₀ + … + ψ_m)²
    varSum += psiSum * psiSum;
    cumMean[s] = meanSum;
    cumVar[s] = sigma * sigma * varSum;
  }
  return {
    name: `AR(${order}) Yule-Walker on log returns`,
    fitted: { order, coefficients: Array.from(phi), meanReturn: mu, sigma, aic },
    cumMean,
    cumVar,
  };
}

function fitEwma(returns: Float64Array, lambda: number, horizon: number): Fit {
  const m = returns.length;
  // Seed with the variance of the first 30 returns so early weights do not start from zero.
  const seedLength = Math.min(30, m);
  let variance = 0;
  for (let i = 0; i < seedLength; i++) variance += returns[i]! * returns[i]!;
  variance /= seedLength;
  for (let i = seedLength; i < m; i++) variance = lambda * variance + (1 - lambda) * returns[i]! * returns[i]!;
  return {
    name: `EWMA volatility (RiskMetrics, lambda=${lambda}), zero drift`,
    fitted: { meanReturn: 0, sigma: Math.sqrt(variance), lambda },
    cumMean: new Float64Array(horizon),
    cumVar: Float64Array.from({ length: horizon }, (_, i) => (i + 1) * variance),
  };
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p <= 0 || p >= 1) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}
