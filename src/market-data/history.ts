/**
 * Deterministic historical 1-minute bars for seeding. The walk (price-model.ts) is generated
 * backwards in time from each instrument's base price at `endMs` (the process is time-reversible),
 * so the newest bar closes exactly at the base price, where the quote book and the live feed start:
 * charts show no seam between seeded history and live bars. Consequently batches come newest
 * trading day first; within a day rows are grouped by instrument in time order. Volume and
 * per-minute variance follow a U-shaped intraday profile (the market clock's open burst and close
 * ramp over a gentle parabola).
 */
import { createBarBatch, type BarBatch } from './bar.ts';
import type { Instrument } from './instrument.ts';
import { DAY_MS, MINUTE_MS, utcDayStart, type MarketClock } from './market-clock.ts';
import { walkParams } from './price-model.ts';
import { createRandom } from './random.ts';

export interface HistoryOptions {
  instruments: readonly Instrument[];
  marketClock: MarketClock;
  /** Trading days, the newest possibly partial (only minutes that ended by `endMs`). */
  days: number;
  /** History ends before this: only bars whose minute ended at or before it. */
  endMs: number;
  seed: number;
  /** Rows per yielded batch, default 50,000. */
  batchSize?: number;
}

interface SessionDay {
  /** Every minute of the full session (the volume profile is normalized over it). */
  minutes: number[];
  /** How many of them (from the start) belong to the history. */
  used: number;
}

/** Overnight (or weekend) gap variance, as a fraction of a full session's variance. */
const OVERNIGHT_VARIANCE = 0.2;

/** Total rows generateHistory yields for these options (for a progress bar). */
export function historyRowCount(opts: Omit<HistoryOptions, 'seed' | 'batchSize'>): number {
  let minutes = 0;
  for (const day of tradingDays(opts)) minutes += day.used;
  return minutes * opts.instruments.length;
}

/** The first bar's start time (epoch ms) for these options, or `endMs` when there is none. */
export function historyStart(opts: Pick<HistoryOptions, 'marketClock' | 'days' | 'endMs'>): number {
  const days = tradingDays(opts);
  return days.length === 0 ? opts.endMs : days[days.length - 1]!.minutes[0]!;
}

export function* generateHistory(opts: HistoryOptions): Generator<BarBatch> {
  const { instruments, marketClock } = opts;
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 50_000));
  const days = tradingDays(opts);
  const rng = createRandom(opts.seed);
  const n = instruments.length;
  const fullSession = marketClock.sessionLengthMs / MINUTE_MS;
  const sigmaMinute = new Float64Array(n);
  let reversionMinute = 0;
  instruments.forEach((instrument, i) => {
    const walk = walkParams(instrument.volatility, marketClock);
    sigmaMinute[i] = walk.sigmaPerSqrtMs * Math.sqrt(MINUTE_MS);
    reversionMinute = walk.reversionPerMs * MINUTE_MS;
  });
  // Log deviation from base at the boundary reached so far, walking back from the newest bar's close.
  const x = new Float64Array(n);

  const maxMinutes = Math.max(0, ...days.map((d) => d.minutes.length));
  const profile = new Float64Array(maxMinutes);
  const sqrtProfile = new Float64Array(maxMinutes);
  const price = new Float64Array(maxMinutes + 1);

  let batch = createBarBatch(batchSize);
  let row = 0;
  for (let d = 0; d < days.length; d++) {
    const { minutes, used } = days[d]!;
    const m = minutes.length;
    // U-shaped profile with mean 1 over the full session: scales both volume and variance per minute.
    let sum = 0;
    for (let k = 0; k < m; k++) {
      const centered = m > 1 ? (2 * k) / (m - 1) - 1 : 0;
      profile[k] = marketClock.activity(minutes[k]!) * (1 + 0.5 * centered * centered);
      sum += profile[k]!;
    }
    for (let k = 0; k < m; k++) {
      profile[k] = (profile[k]! * m) / sum;
      sqrtProfile[k] = Math.sqrt(profile[k]!);
    }
    const older = days[d + 1];
    const gapped = older !== undefined && older.minutes[older.minutes.length - 1]! + MINUTE_MS < minutes[0]!;
    const gapSigmaScale = gapped ? Math.sqrt(OVERNIGHT_VARIANCE * fullSession) : 0;

    for (let i = 0; i < n; i++) {
      const instrument = instruments[i]!;
      const tick = instrument.tickSize;
      const lot = instrument.lotSize;
      const basePrice = instrument.basePrice;
      const sigma = sigmaMinute[i]!;
      const volumePerMinute = instrument.avgVolume / fullSession;

      // Boundary k is the open of minute k (= close of minute k − 1); boundary `used` is the last close.
      let xi = x[i]!;
      price[used] = onGrid(basePrice * Math.exp(xi), tick);
      for (let k = used - 1; k >= 0; k--) {
        xi = xi * (1 - reversionMinute) + sigma * sqrtProfile[k]! * rng.normal();
        price[k] = onGrid(basePrice * Math.exp(xi), tick);
      }
      x[i] = xi * (1 - reversionMinute) + sigma * gapSigmaScale * rng.normal();

      const id = instrument.id;
      for (let k = 0; k < used; k++) {
        const open = price[k]!;
        const close = price[k + 1]!;
        // Intrabar excursions beyond open/close: exponential, mean half a minute's sigma.
        const reach = 0.5 * sigma * sqrtProfile[k]!;
        const top = open > close ? open : close;
        const bottom = open < close ? open : close;
        const high = Math.max(top, onGrid(top * Math.exp(-Math.log(1 - rng.next()) * reach), tick));
        const low = Math.min(bottom, onGrid(bottom * Math.exp(Math.log(1 - rng.next()) * reach), tick));
        const shares = volumePerMinute * profile[k]! * Math.exp(0.6 * rng.normal() - 0.18);
        batch.instrumentId[row] = id;
        batch.ts[row] = minutes[k]!;
        batch.open[row] = open;
        batch.high[row] = high;
        batch.low[row] = low;
        batch.close[row] = close;
        batch.volume[row] = Math.max(lot, Math.round(shares / lot) * lot);
        if (++row === batchSize) {
          batch.length = row;
          yield batch;
          batch = createBarBatch(batchSize);
          row = 0;
        }
      }
    }
  }
  if (row > 0) {
    batch.length = row;
    yield batch;
  }
}

/** The last `days` trading days before `endMs`, newest first. */
function tradingDays(opts: Pick<HistoryOptions, 'marketClock' | 'days' | 'endMs'>): SessionDay[] {
  const result: SessionDay[] = [];
  if (!(opts.days > 0)) return result;
  // Weekends are the only closures; a week of empty days means the clock never trades.
  let empty = 0;
  for (let day = utcDayStart(opts.endMs); result.length < opts.days && empty < 7; day -= DAY_MS) {
    const minutes = opts.marketClock.sessionMinutes(day);
    let used = 0;
    while (used < minutes.length && minutes[used]! + MINUTE_MS <= opts.endMs) used++;
    if (used === 0) {
      empty++;
      continue;
    }
    empty = 0;
    result.push({ minutes, used });
  }
  return result;
}

function onGrid(units: number, tick: number): number {
  const rounded = Math.round(units / tick) * tick;
  return rounded < tick ? tick : rounded;
}
