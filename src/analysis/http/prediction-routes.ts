/** Price forecasts per symbol, cached until the symbol's next bar. */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { secondsToNextMinute, type RouteCache } from '../../cache/http/route-cache.ts';
import { tags as invalidationTags } from '../../cache/invalidation.ts';
import { principalOf } from '../../http/access.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { AnalysisService } from '../service.ts';
import { Anything, Interval, SymbolName, tags } from './schemas.ts';

export interface PredictionRoutesDeps {
  analysis: AnalysisService;
  clock: Clock;
  cached: RouteCache;
}

const PredictionQuery = Type.Object(
  {
    horizon: Type.Integer({ minimum: 1, maximum: 500, default: 5, description: 'bars ahead' }),
    interval: Type.Union(Interval.anyOf, { default: '1m' }),
    model: Type.Union([Type.Literal('ar'), Type.Literal('ewma')], { default: 'ar' }),
    window: Type.Integer({ minimum: 30, maximum: 100_000, default: 500, description: 'bars of history fitted' }),
    confidence: Type.Number({ minimum: 0.5, maximum: 0.999, default: 0.95 }),
  },
  { additionalProperties: false },
);

const PredictionSchema = Type.Object({
  symbol: Type.String(),
  interval: Type.String(),
  model: Type.String(),
  fitted: Anything,
  window: Type.Object({ from: Type.Number(), to: Type.Number(), bars: Type.Integer() }),
  lastClose: Type.Number(),
  confidence: Type.Number(),
  forecast: Type.Array(Type.Object({ step: Type.Integer(), ts: Type.Number(), price: Type.Number(), lower: Type.Number(), upper: Type.Number() })),
});

export function predictionRoutes({ analysis, clock, cached }: PredictionRoutesDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/predictions/:symbol',
      {
        schema: {
          tags,
          summary: 'Price forecast with a confidence interval from a model fitted on the symbol’s history (AR by AIC, or EWMA volatility)',
          params: Type.Object({ symbol: SymbolName }),
          querystring: PredictionQuery,
          response: { 200: PredictionSchema },
        },
      },
      async (request, reply) => {
        const symbol = request.params.symbol.toUpperCase();
        const { interval, ...options } = request.query;
        const load = async () => ({ symbol, interval, ...(await analysis.predict({ symbol, interval, options })) });
        // A forecast changes only with a new bar: keyed by minute and dropped by the symbol's bar events.
        const key = `predict:${symbol}|${interval}|${options.model}|${options.horizon}|${options.window}|${options.confidence}|open@${Math.floor(clock.now() / 60_000)}`;
        // The user's limit wraps the cache too: a computation another user's request joins is never refused on this user's count.
        return analysis.userLimits.run('predictions', principalOf(request).userId, () => cached(request, reply, { cls: 'predictions', key, tags: [invalidationTags.openBars(symbol)], maxAgeS: secondsToNextMinute(clock.now()) }, load));
      },
    );
  };
}
