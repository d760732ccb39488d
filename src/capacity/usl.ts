/**
 * The Universal Scalability Law (Gunther): throughput at concurrency N is
 *   X(N) = λN / (1 + σ(N − 1) + κN(N − 1))
 * with λ the throughput of one unit of concurrency, σ contention (the serial fraction: queueing on a
 * lock, the event loop, a database row) and κ coherency (the cost of keeping shared state consistent,
 * growing with pairs of workers). σ = κ = 0 is linear scaling; κ > 0 gives a peak at
 * N* = √((1 − σ)/κ), past which more concurrency lowers throughput.
 *
 * Fit: for a given λ the model is linear in σ and κ after the transformation λN/X − 1 = σ(N − 1) + κN(N − 1),
 * solved by least squares (non-negative); λ is then chosen by a golden-section search minimizing the
 * squared error of X itself. Robust with 4+ points and no need for a measurement at N = 1.
 */

export interface UslPoint {
  concurrency: number;
  throughput: number;
}

export interface UslFit {
  lambda: number;
  sigma: number;
  kappa: number;
  /** Coefficient of determination of the fitted throughput. */
  r2: number;
  /** Concurrency of peak throughput (Infinity when κ = 0). */
  peakConcurrency: number;
  peakThroughput: number;
}

export function uslThroughput(fit: Pick<UslFit, 'lambda' | 'sigma' | 'kappa'>, n: number): number {
  return (fit.lambda * n) / (1 + fit.sigma * (n - 1) + fit.kappa * n * (n - 1));
}

/** Least squares for z = σa + κb with σ, κ ≥ 0 (the constrained optimum lies on an axis when the free one is negative). */
function solveCoefficients(points: readonly UslPoint[], lambda: number): { sigma: number; kappa: number } {
  let saa = 0, sab = 0, sbb = 0, saz = 0, sbz = 0;
  for (const { concurrency: n, throughput: x } of points) {
    const a = n - 1;
    const b = n * (n - 1);
    const z = (lambda * n) / x - 1;
    saa += a * a; sab += a * b; sbb += b * b; saz += a * z; sbz += b * z;
  }
  const det = saa * sbb - sab * sab;
  let sigma = det > 0 ? (saz * sbb - sbz * sab) / det : 0;
  let kappa = det > 0 ? (sbz * saa - saz * sab) / det : 0;
  if (sigma < 0 || kappa < 0 || det <= 0) {
    const onlySigma = saa > 0 ? Math.max(0, saz / saa) : 0;
    const onlyKappa = sbb > 0 ? Math.max(0, sbz / sbb) : 0;
    const err = (s: number, k: number) => points.reduce((e, p) => e + (uslThroughput({ lambda, sigma: s, kappa: k }, p.concurrency) - p.throughput) ** 2, 0);
    [sigma, kappa] = err(onlySigma, 0) <= err(0, onlyKappa) ? [onlySigma, 0] : [0, onlyKappa];
  }
  return { sigma, kappa };
}

export function fitUsl(points: readonly UslPoint[]): UslFit {
  if (points.length < 3) throw new RangeError('fitting the USL needs at least 3 measurements at different concurrencies');
  const error = (lambda: number) => {
    const c = solveCoefficients(points, lambda);
    return points.reduce((e, p) => e + (uslThroughput({ lambda, ...c }, p.concurrency) - p.throughput) ** 2, 0);
  };
  // λ is at least the best per-unit throughput observed divided by a generous margin, at most twice it.
  const perUnit = Math.max(...points.map((p) => p.throughput / p.concurrency));
  let lo = perUnit * 0.5;
  let hi = perUnit * 2;
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200 && hi - lo > perUnit * 1e-9; i++) {
    const a = hi - ratio * (hi - lo);
    const b = lo + ratio * (hi - lo);
    if (error(a) <= error(b)) hi = b;
    else lo = a;
  }
  const lambda = (lo + hi) / 2;
  const { sigma, kappa } = solveCoefficients(points, lambda);
  const mean = points.reduce((s, p) => s + p.throughput, 0) / points.length;
  const total = points.reduce((s, p) => s + (p.throughput - mean) ** 2, 0);
  const r2 = total > 0 ? 1 - error(lambda) / total : 1;
  const peakConcurrency = kappa > 0 ? Math.sqrt((1 - sigma) / kappa) : Infinity;
  const fit = { lambda, sigma, kappa, r2, peakConcurrency, peakThroughput: 0 };
  // Without coherency the curve rises towards λ/σ (Amdahl); with neither, it has no ceiling.
  fit.peakThroughput = Number.isFinite(peakConcurrency) ? uslThroughput(fit, peakConcurrency) : sigma > 0 ? lambda / sigma : Infinity;
  return fit;
}
