import { Type, type Static } from '@sinclair/typebox';
import { sma } from '../indicators.ts';
import type { StrategyDefinition } from './types.ts';

const schema = Type.Object(
  {
    fastPeriod: Type.Integer({ minimum: 2, maximum: 1000, default: 10, description: 'Bars in the fast moving average' }),
    slowPeriod: Type.Integer({ minimum: 3, maximum: 5000, default: 30, description: 'Bars in the slow moving average' }),
  },
  { additionalProperties: false },
);
export type SmaCrossoverParams = Static<typeof schema>;

/** Long while the fast SMA is above the slow one, short (or flat when long-only) while below. */
export const smaCrossover: StrategyDefinition<SmaCrossoverParams> = {
  type: 'sma_crossover',
  name: 'SMA crossover',
  description: 'Trend following: long when the fast simple moving average crosses above the slow one, short when it crosses below.',
  schema,
  defaults: { fastPeriod: 10, slowPeriod: 30 },
  check: (p) => (p.fastPeriod < p.slowPeriod ? undefined : `params.fastPeriod must be < params.slowPeriod (${p.slowPeriod})`),
  signals(series, p, out, scratch) {
    const fast = sma(series.close, p.fastPeriod, scratch.f64(0, series.length));
    const slow = sma(series.close, p.slowPeriod, scratch.f64(1, series.length));
    for (let i = 0; i < series.length; i++) {
      const f = fast[i]!;
      const s = slow[i]!;
      // NaN comparisons are false, so the warm-up stays flat.
      out[i] = f > s ? 1 : f < s ? -1 : 0;
    }
  },
};
