/**
 * Users' strategies: the catalogue of types, create, read, replace, delete, and each strategy's
 * performance (computed inline when small, queued when large). A strategy is its creator's:
 * another user's answers 404.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RouteCache } from '../../cache/http/route-cache.ts';
import { principalOf } from '../../http/access.ts';
import type { StrategyPerformance } from '../performance.ts';
import type { AnalysisService } from '../service.ts';
import { STRATEGIES, catalogue } from '../strategies/catalogue.ts';
import type { StrategyInput, StrategyRecord, StrategyStore, StrategyWithPerformance } from '../strategy-store.ts';
import { performanceCacheSpec } from './performance-cache.ts';
import { Anything, Interval, PerformanceSchema, SymbolName, tags } from './schemas.ts';

export interface StrategyRoutesDeps {
  analysis: AnalysisService;
  performance: StrategyPerformance;
  strategies: StrategyStore;
  cached: RouteCache;
}

const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

const StrategyConfigSchema = Type.Object(
  {
    symbols: Type.Array(SymbolName, { minItems: 1, maxItems: 50 }),
    interval: Type.Union(Interval.anyOf, { default: '15m' }),
    lookbackDays: Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: 'history up to now the performance covers' }),
    params: Type.Object({}, { additionalProperties: true, default: {} }),
    options: Type.Object({}, { additionalProperties: true, default: {}, description: 'backtest options (costs, sizing)' }),
  },
  { additionalProperties: false },
);

const StrategyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    type: Type.Union(STRATEGIES.map((s) => Type.Literal(s.type as string))),
    config: StrategyConfigSchema,
  },
  { additionalProperties: false },
);

const StrategySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  type: Type.String(),
  config: StrategyConfigSchema,
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  performance: Type.Union([PerformanceSchema, Type.Null()]),
  performancePending: Type.Boolean({ description: 'a recomputation is queued (large strategies)' }),
});

const ComputingSchema = Type.Object({ status: Type.Literal('computing'), strategyId: Type.Integer() });

const CatalogueSchema = Type.Array(
  Type.Object({ type: Type.String(), name: Type.String(), description: Type.String(), parameters: Anything, defaults: Anything }),
);

export function strategyRoutes({ analysis, performance, strategies, cached }: StrategyRoutesDeps) {
  /**
   * Validates (before anything is stored), saves, then computes the performance now (inline-sized) or
   * queues it. The computation is a backtest: it counts against the user's backtests in progress.
   */
  function saveAndCompute(userId: number, input: StrategyInput, save: () => Promise<StrategyRecord>): Promise<StrategyWithPerformance & { performancePending: boolean }> {
    return analysis.userLimits.run('backtests', userId, async () => {
      const plan = performance.plan(input);
      const saved = await save();
      if (plan === 'queue') {
        await performance.schedule(saved.id, 'high');
        return { ...(await strategies.get(userId, saved.id)), performancePending: true };
      }
      return { ...saved, performance: await performance.recompute(saved), performancePending: false };
    });
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/strategies/catalogue',
      { schema: { tags, summary: 'Strategy types with their parameter JSON Schema and defaults', response: { 200: CatalogueSchema } } },
      async () => catalogue(),
    );

    app.get(
      '/api/strategies',
      {
        schema: {
          tags,
          summary: 'Your strategies with their last computed performance, most recently changed first',
          querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ items: Type.Array(StrategySchema) }) },
        },
      },
      async (request) => ({
        items: (await strategies.list(principalOf(request).userId, request.query.limit)).map((s) => ({ ...s, performancePending: false })),
      }),
    );

    app.post(
      '/api/strategies',
      {
        schema: {
          tags,
          summary: 'Create a strategy; 201 with its performance over the lookback (400 names a bad field, 422 beyond the limits)',
          body: StrategyBody,
          response: { 201: StrategySchema },
        },
      },
      async (request, reply) => {
        const userId = principalOf(request).userId;
        const input = request.body as StrategyInput;
        return reply.code(201).send(await saveAndCompute(userId, input, () => strategies.create(userId, input)));
      },
    );

    app.get(
      '/api/strategies/:id',
      { schema: { tags, summary: 'One of your strategies', params: IdParam, response: { 200: StrategySchema } } },
      async (request) => ({ ...(await strategies.get(principalOf(request).userId, request.params.id)), performancePending: false }),
    );

    app.put(
      '/api/strategies/:id',
      {
        schema: { tags, summary: 'Replace a strategy; its performance is recomputed', params: IdParam, body: StrategyBody, response: { 200: StrategySchema } },
      },
      async (request) => {
        const userId = principalOf(request).userId;
        const input = request.body as StrategyInput;
        return saveAndCompute(userId, input, () => strategies.update(userId, request.params.id, input));
      },
    );

    app.delete(
      '/api/strategies/:id',
      { schema: { tags, summary: 'Delete a strategy and its performance (204)', params: IdParam } },
      async (request, reply) => {
        const { userId } = principalOf(request);
        await strategies.delete(userId, request.params.id);
        performance.deleted(userId, request.params.id);
        return reply.code(204).send();
      },
    );

    app.get(
      '/api/strategies/:id/performance',
      {
        schema: {
          tags,
          summary: 'Total return, CAGR, Sharpe, Sortino, max drawdown, win rate, trades and the equity curve (cached 15 min; recomputed on change and on new bars); 202 while the first computation is queued',
          params: IdParam,
          response: { 200: PerformanceSchema, 202: ComputingSchema },
        },
      },
      async (request, reply) => {
        const userId = principalOf(request).userId;
        const id = request.params.id;
        return cached(
          request,
          reply,
          {
            ...performanceCacheSpec(userId, id),
            // The strategy exists but its first performance is still queued: 202, not 404.
            absent: (r) => r.code(202).header('retry-after', '1').header('cache-control', 'no-store').send({ status: 'computing', strategyId: id }),
          },
          async () => (await strategies.performance(userId, id)) ?? undefined,
        );
      },
    );
  };
}
