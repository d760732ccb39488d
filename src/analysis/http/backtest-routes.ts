/** Backtests: 200 with the result when small enough to run inline, 202 with a task link when queued. */
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../../http/access.ts';
import { parseTime } from '../../http/validation.ts';
import { BACKTEST_TASK, type AnalysisService, type BacktestRequest } from '../service.ts';
import type { TaskOwners } from '../task-owners.ts';
import { Anything, EquitySchema, Interval, MetricsSchema, Priority, SymbolName, tags, Time } from './schemas.ts';
import { taskLocation } from './task-routes.ts';

export interface BacktestRoutesDeps {
  analysis: AnalysisService;
  owners: TaskOwners;
}

const BacktestBody = Type.Object(
  {
    symbols: Type.Array(SymbolName, { minItems: 1, maxItems: 5000 }),
    interval: Type.Union(Interval.anyOf, { default: '1d' }),
    from: Time,
    to: Time,
    strategy: Type.Object({ type: Type.String({ maxLength: 64 }), params: Type.Optional(Anything) }, { additionalProperties: false }),
    options: Type.Optional(Anything),
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);

const TradeSchema = Type.Object({
  symbol: Type.String(),
  side: Type.String(),
  entryTs: Type.Number(),
  entryPrice: Type.Number(),
  exitTs: Type.Number(),
  exitPrice: Type.Number(),
  quantity: Type.Number(),
  pnl: Type.Number(),
  return: Type.Number(),
  bars: Type.Integer(),
});

const BacktestResultSchema = Type.Object({
  strategy: Type.Object({ type: Type.String(), params: Anything }),
  metrics: MetricsSchema,
  trades: Type.Array(TradeSchema),
  open: Type.Array(Type.Object({ symbol: Type.String(), side: Type.String(), entryTs: Type.Number(), entryPrice: Type.Number(), quantity: Type.Number() })),
  equity: EquitySchema,
  symbols: Type.Integer(),
  bars: Type.Integer(),
});

const QueuedSchema = Type.Object({ status: Type.Literal('queued'), taskId: Type.String(), location: Type.String() });

export function backtestRoutes({ analysis, owners }: BacktestRoutesDeps) {
  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/backtests',
      {
        schema: {
          tags,
          summary: 'Run a backtest: 200 with metrics, trades and the equity curve; 202 with a task link when large; 400 names a bad field; 422 beyond the limit',
          body: BacktestBody,
          response: { 200: BacktestResultSchema, 202: QueuedSchema },
        },
      },
      async (request, reply) => {
        const { priority, ...body } = request.body;
        const backtest: BacktestRequest = { ...body, from: parseTime(body.from, 'body.from'), to: parseTime(body.to, 'body.to'), strategy: { type: body.strategy.type, params: body.strategy.params ?? {} } };
        const answer = await analysis.backtest(backtest, priority, principalOf(request).userId);
        if (answer.status === 'completed') return answer.result;
        await owners.record(answer.taskId, principalOf(request).userId, BACKTEST_TASK);
        const location = taskLocation(answer.taskId);
        return reply.code(202).header('location', location).send({ status: 'queued', taskId: answer.taskId, location });
      },
    );
  };
}
