import { Type, type Static } from '@sinclair/typebox';
import { rollingMax, rollingMin } from '../indicators.ts';
import type { StrategyDefinition } from './types.ts';

const schema = Type.Object(
  {
    entryPeriod: Type.Integer({ minimum: 2, maximum: 5000, default: 20, description: 'Channel length for entries (bars before the current one)' }),
    exitPeriod: Type.Integer({ minimum: 1, maximum: 5000, default: 10, description: 'Channel length for exits' }),
  },
  { additionalProperties: false },
);
export type BreakoutParams = Static<typeof schema>;

/**
 * Donchian channel breakout (turtle rules): long when the close breaks above the highest high of the
 * previous entryPeriod bars, short below the lowest low; a long exits when the close falls below the
 * lowest low of the previous exitPeriod bars (a short mirrors it). Channels exclude the current bar,
 * otherwise a close could never exceed a high that includes itself.
 */
export const breakout: StrategyDefinition<BreakoutParams> = {
  type: 'breakout',
  name: 'Channel breakout',
  description: 'Long when the close breaks the highest high of the entry channel, short below its lowest low; exit on the opposite side of the shorter exit channel.',
  schema,
  defaults: { entryPeriod: 20, exitPeriod: 10 },
  check: (p) => (p.exitPeriod <= p.entryPeriod ? undefined : `params.exitPeriod must be ≤ params.entryPeriod (${p.entryPeriod})`),
  signals(series, p, out, scratch) {
    const n = series.length;
    const deque = scratch.i32(Math.max(p.entryPeriod, p.exitPeriod) + 1);
    const upper = rollingMax(series.high, p.entryPeriod, scratch.f64(0, n), deque);
    const lower = rollingMin(series.low, p.entryPeriod, scratch.f64(1, n), deque);
    const exitLow = rollingMin(series.low, p.exitPeriod, scratch.f64(2, n), deque);
    const exitHigh = rollingMax(series.high, p.exitPeriod, scratch.f64(3, n), deque);
    let position = 0;
    if (n > 0) out[0] = 0;
    for (let i = 1; i < n; i++) {
      const c = series.close[i]!;
      if (c > upper[i - 1]!) position = 1;
      else if (c < lower[i - 1]!) position = -1;
      else if ((position === 1 && c < exitLow[i - 1]!) || (position === -1 && c > exitHigh[i - 1]!)) position = 0;
      out[i] = position;
    }
  },
};
