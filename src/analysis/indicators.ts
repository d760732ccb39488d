/**
 * Rolling indicators over typed arrays, each O(n) with a single pass and no allocation beyond the
 * output (pass `out` to reuse a buffer across calls). Values before the window is full are NaN, so a
 * strategy cannot act on a half-formed indicator by accident.
 */

function output(n: number, out: Float64Array | undefined): Float64Array {
  if (!out) return new Float64Array(n);
  if (out.length < n) throw new RangeError(`output buffer holds ${out.length} values, ${n} needed`);
  return out;
}

function checkPeriod(period: number): void {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be an integer ≥ 1, got ${period}`);
}

/** Simple moving average: a running sum, one add and one subtract per bar. */
export function sma(src: Float64Array, period: number, out?: Float64Array): Float64Array {
  checkPeriod(period);
  const n = src.length;
  const dst = output(n, out);
  const inv = 1 / period;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += src[i]!;
    if (i >= period) sum -= src[i - period]!;
    dst[i] = i >= period - 1 ? sum * inv : NaN;
  }
  return dst;
}

/** Exponential moving average (alpha = 2/(period+1)), seeded with the SMA of the first `period` values. */
export function ema(src: Float64Array, period: number, out?: Float64Array): Float64Array {
  checkPeriod(period);
  const n = src.length;
  const dst = output(n, out);
  const alpha = 2 / (period + 1);
  let value = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    if (i < period - 1) {
      value += x;
      dst[i] = NaN;
    } else if (i === period - 1) {
      value = (value + x) / period;
      dst[i] = value;
    } else {
      value += alpha * (x - value);
      dst[i] = value;
    }
  }
  return dst;
}

/**
 * Rolling population standard deviation. Sums are taken around a shift (the first value) so that
 * E[x²] − E[x]² does not cancel catastrophically for prices far from zero.
 */
export function rollingStd(src: Float64Array, period: number, out?: Float64Array): Float64Array {
  checkPeriod(period);
  const n = src.length;
  const dst = output(n, out);
  const shift = n > 0 ? src[0]! : 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]! - shift;
    sum += x;
    sumSq += x * x;
    if (i >= period) {
      const y = src[i - period]! - shift;
      sum -= y;
      sumSq -= y * y;
    }
    if (i >= period - 1) {
      const mean = sum / period;
      const variance = sumSq / period - mean * mean;
      dst[i] = variance > 0 ? Math.sqrt(variance) : 0;
    } else dst[i] = NaN;
  }
  return dst;
}

/**
 * Rolling max (or min) with a monotonic deque of indices: every index enters and leaves once, so the
 * whole pass is O(n) regardless of the period. `deque` may be passed to avoid allocating one.
 */
function rollingExtreme(src: Float64Array, period: number, isMax: boolean, out: Float64Array | undefined, deque: Int32Array | undefined): Float64Array {
  checkPeriod(period);
  const n = src.length;
  const dst = output(n, out);
  const q = deque && deque.length >= period + 1 ? deque : new Int32Array(period + 1);
  const cap = q.length;
  let head = 0; // ring-buffer deque: [head, tail)
  let size = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    while (size > 0) {
      const last = q[(head + size - 1) % cap]!;
      const v = src[last]!;
      if (isMax ? v <= x : v >= x) size--;
      else break;
    }
    q[(head + size) % cap] = i;
    size++;
    if (q[head]! <= i - period) {
      head = (head + 1) % cap;
      size--;
    }
    dst[i] = i >= period - 1 ? src[q[head]!]! : NaN;
  }
  return dst;
}

export function rollingMax(src: Float64Array, period: number, out?: Float64Array, deque?: Int32Array): Float64Array {
  return rollingExtreme(src, period, true, out, deque);
}

export function rollingMin(src: Float64Array, period: number, out?: Float64Array, deque?: Int32Array): Float64Array {
  return rollingExtreme(src, period, false, out, deque);
}

/** Rate of change over `period` bars: src[i] / src[i − period] − 1. */
export function momentum(src: Float64Array, period: number, out?: Float64Array): Float64Array {
  checkPeriod(period);
  const n = src.length;
  const dst = output(n, out);
  for (let i = 0; i < n; i++) dst[i] = i >= period ? src[i]! / src[i - period]! - 1 : NaN;
  return dst;
}
