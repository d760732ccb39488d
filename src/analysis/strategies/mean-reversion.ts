import { Type, type Static } from '@sinclair/typebox';
import { rollingStd, sma } from '../indicators.ts';
import type { StrategyDefinition } from './types.ts';

const schema = Type.Object(
  {
    period: Type.Integer({ minimum: 2, maximum: 5000, default: 20, description: 'Bars in the mean and standard deviation' }),
    entryZ: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 2, description: 'Z-score beyond which a position is opened' }),
    exitZ: Type.Number({ minimum: 0, maximum: 10, default: 0.5, description: 'Z-score inside which the position is closed' }),
  },
  { additionalProperties: false },
);
export type MeanReversionParams = Static<typeof schema>;

/**
 * Bollinger-style reversion on z = (close − SMA) / σ: buy when z < −entryZ, sell short when
 * z > entryZ, and go flat once z has come back inside ±exitZ.
 */
export const meanReversion: StrategyDefinition<MeanReversionParams> = {
  type: 'mean_reversion',
  name: 'Mean reversion',
  description: 'Long when the close is more than entryZ standard deviations below its moving average, short when above; exit inside exitZ.',
  schema,
  defaults: { period: 20, entryZ: 2, exitZ: 0.5 },
  check: (p) => (p.exitZ < p.entryZ ? undefined : `params.exitZ must be < params.entryZ (${p.entryZ})`),
  signals(series, p, out, scratch) {
    const mean = sma(series.close, p.period, scratch.f64(0, series.length));
    const sd = rollingStd(series.close, p.period, scratch.f64(1, series.length));
    let position = 0;
    for (let i = 0; i < series.length; i++) {
      const s = sd[i]!;
      if (s > 0) {
        const z = (series.close[i]! - mean[i]!) / s;
        if (z < -p.entryZ) position = 1;
        else if (z > p.entryZ) position = -1;
        else if ((position === 1 && z >= -p.exitZ) || (position === -1 && z <= p.exitZ)) position = 0;
      }
      out[i] = position;
    }
  },
};
