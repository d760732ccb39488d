import { Type, type Static } from '@sinclair/typebox';
import { momentum as rateOfChange } from '../indicators.ts';
import type { StrategyDefinition } from './types.ts';

const schema = Type.Object(
  {
    lookback: Type.Integer({ minimum: 1, maximum: 5000, default: 20, description: 'Bars over which the return is measured' }),
    threshold: Type.Number({ minimum: 0, maximum: 10, default: 0.02, description: 'Return (fraction) beyond which a position is taken' }),
  },
  { additionalProperties: false },
);
export type MomentumParams = Static<typeof schema>;

/**
 * Time-series momentum: long when the lookback return exceeds +threshold, short below −threshold;
 * inside the band the previous position is held (a dead zone that avoids churning around zero).
 */
export const momentum: StrategyDefinition<MomentumParams> = {
  type: 'momentum',
  name: 'Momentum',
  description: 'Long when the return over the lookback exceeds the threshold, short when it is below minus the threshold, hold otherwise.',
  schema,
  defaults: { lookback: 20, threshold: 0.02 },
  signals(series, p, out, scratch) {
    const roc = rateOfChange(series.close, p.lookback, scratch.f64(0, series.length));
    let position = 0;
    for (let i = 0; i < series.length; i++) {
      const r = roc[i]!;
      if (r > p.threshold) position = 1;
      else if (r < -p.threshold) position = -1;
      out[i] = position;
    }
  },
};
