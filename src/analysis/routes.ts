/**
 * HTTP adapter over the analysis components: the strategy catalogue, users' strategies and their
 * performance, backtests (200 inline, 202 queued), forecasts, and the task queue. Every route needs
 * a user; strategies and tasks are scoped to their creator (another user's answer 404).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { secondsToNextMinute, type RouteCache } from '../cache/http/route-cache.ts';
import { tags } from '../cache/invalidation.ts';
import { principalOf } from '../http/access.ts';
import { Timestamp, parseTime } from '../http/validation.ts';
import type { Clock } from '../kernel/clock.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import type { StrategyPerformance } from './performance.ts';
import { BACKTEST_TASK, CLIENT_TASK_TYPES, type AnalysisService, type BacktestRequest } from './service.ts';
import { STRATEGIES, catalogue } from './strategies/catalogue.ts';
import type { StrategyInput, StrategyRecord, StrategyStore, StrategyWithPerformance } from './strategy-store.ts';
import type { TaskOwners } from './task-owners.ts';
import { PRIORITIES, type TaskQueue, type TaskRecord } from './task-queue/port.ts';

export interface AnalysisRoutesDeps {
  analysis: AnalysisService;
  performance: StrategyPerformance;
  strategies: StrategyStore;
  queue: TaskQueue;
  owners: TaskOwners;
  clock: Clock;
  cached: RouteCache;
}

const Interval = Type.Union(['1m', '5m', '15m', '1h', '1d'].map((i) => Type.Literal(i as '1m' | '5m' | '15m' | '1h' | '1d')));
const SymbolName = Type.String({ minLength: 1, maxLength: 12, pattern: '^[A-Za-z0-9.\\-]+$' });
const Priority = Type.Union(PRIORITIES.map((p) => Type.Literal(p)), { default: 'normal' });
const Time = Timestamp();
const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);
const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const TaskIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Anything = Type.Record(Type.String(), Type.Unknown());

const MetricsSchema = Type.Object({
  totalReturn: Type.Number(),
  cagr: Type.Number(),
  volatility: Type.Number(),
  sharpe: Nullable(Type.Number()),
  sortino: Nullable(Type.Number()),
  maxDrawdown: Type.Number(),
  winRate: Nullable(Type.Number()),
  trades: Type.Integer(),
  profitFactor: Nullable(Type.Number()),
  exposure: Type.Number(),
});

const EquitySchema = Type.Object({ ts: Type.Array(Type.Number()), value: Type.Array(Type.Number()) });

const PerformanceSchema = Type.Object({
  strategyId: Type.Integer(),
  computedAt: Type.Integer(),
  window: Type.Object({ from: Nullable(Type.Number()), to: Nullable(Type.Number()), bars: Type.Integer(), symbols: Type.Integer() }),
  metrics: Type.Union([MetricsSchema, Type.Null()]),
  equity: EquitySchema,
  error: Type.Union([Type.String(), Type.Null()]),
});

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

const CatalogueSchema = Type.Array(
  Type.Object({ type: Type.String(), name: Type.String(), description: Type.String(), parameters: Anything, defaults: Anything }),
);

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

const ComputingSchema = Type.Object({ status: Type.Literal('computing'), strategyId: Type.Integer() });

/** A strategy whose first performance is still queued: 202, not 404 (the strategy exists). */
class PerformancePending extends Error {}

const QueuedSchema = Type.Object({ status: Type.Literal('queued'), taskId: Type.String(), location: Type.String() });

const TaskSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  priority: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  createdAt: Type.Number(),
  startedAt: Type.Optional(Type.Number()),
  finishedAt: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String()),
  result: Type.Optional(Type.Unknown()),
  location: Type.String(),
});

const TaskBody = Type.Object(
  {
    type: Type.Union(CLIENT_TASK_TYPES.map((t) => Type.Literal(t))),
    payload: Anything,
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);

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

const taskLocation = (id: string) => `/api/tasks/${id}`;

function taskDto(record: TaskRecord): Static<typeof TaskSchema> {
  return { ...record, location: taskLocation(record.id) };
}

/** The queue's record of a task the caller owns; the queue may have forgotten it (retention, or an in-process queue that restarted). */
async function recordOf(queue: TaskQueue, id: string): Promise<TaskRecord> {
  const record = await queue.get(id);
  if (!record) throw new NotFoundError(`task ${id} is no longer known (finished long ago, or queued in a process that restarted)`);
  return record;
}

export function analysisRoutes(deps: AnalysisRoutesDeps) {
  const { analysis, performance, strategies, queue, owners, cached } = deps;

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
      { schema: { tags: ['analysis'], summary: 'Strategy types with their parameter JSON Schema and defaults', response: { 200: CatalogueSchema } } },
      async () => catalogue(),
    );

    app.get(
      '/api/strategies',
      {
        schema: {
          tags: ['analysis'],
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
          tags: ['analysis'],
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
      { schema: { tags: ['analysis'], summary: 'One of your strategies', params: IdParam, response: { 200: StrategySchema } } },
      async (request) => ({ ...(await strategies.get(principalOf(request).userId, request.params.id)), performancePending: false }),
    );

    app.put(
      '/api/strategies/:id',
      {
        schema: { tags: ['analysis'], summary: 'Replace a strategy; its performance is recomputed', params: IdParam, body: StrategyBody, response: { 200: StrategySchema } },
      },
      async (request) => {
        const userId = principalOf(request).userId;
        const input = request.body as StrategyInput;
        return saveAndCompute(userId, input, () => strategies.update(userId, request.params.id, input));
      },
    );

    app.delete(
      '/api/strategies/:id',
      { schema: { tags: ['analysis'], summary: 'Delete a strategy and its performance (204)', params: IdParam } },
      async (request, reply) => {
        await strategies.delete(principalOf(request).userId, request.params.id);
        performance.deleted(request.params.id);
        return reply.code(204).send();
      },
    );

    app.get(
      '/api/strategies/:id/performance',
      {
        schema: {
          tags: ['analysis'],
          summary: 'Total return, CAGR, Sharpe, Sortino, max drawdown, win rate, trades and the equity curve (cached 15 min; recomputed on change and on new bars); 202 while the first computation is queued',
          params: IdParam,
          response: { 200: PerformanceSchema, 202: ComputingSchema },
        },
      },
      async (request, reply) => {
        const userId = principalOf(request).userId;
        const id = request.params.id;
        try {
          return await cached(request, reply, { cls: 'strategyPerformance', key: `strategy:${id}:performance`, account: userId, tags: [tags.strategy(id)] }, async () => {
            const record = await strategies.performance(userId, id);
            if (!record) throw new PerformancePending();
            return record;
          });
        } catch (error) {
          if (!(error instanceof PerformancePending)) throw error;
          return reply.code(202).header('retry-after', '1').header('cache-control', 'no-store').send({ status: 'computing', strategyId: id });
        }
      },
    );

    app.post(
      '/api/backtests',
      {
        schema: {
          tags: ['analysis'],
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

    app.get(
      '/api/predictions/:symbol',
      {
        schema: {
          tags: ['analysis'],
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
        const key = `predict:${symbol}|${interval}|${options.model}|${options.horizon}|${options.window}|${options.confidence}|open@${Math.floor(deps.clock.now() / 60_000)}`;
        // The user's limit wraps the cache too: a computation another user's request joins is never refused on this user's count.
        return analysis.userLimits.run('predictions', principalOf(request).userId, () => cached(request, reply, { cls: 'historicalBars', key, tags: [tags.openBars(symbol)], maxAgeS: secondsToNextMinute(deps.clock.now()) }, load));
      },
    );

    app.post(
      '/api/tasks',
      {
        schema: {
          tags: ['analysis'],
          summary: 'Queue an analysis task (analysis.backtest: a backtest body; analysis.predict: {symbol, interval, options}); 202 with its link',
          body: TaskBody,
          response: { 202: TaskSchema },
        },
      },
      async (request, reply) => {
        const { type, payload, priority } = request.body;
        const id = await analysis.enqueue(type, payload, priority, principalOf(request).userId);
        await owners.record(id, principalOf(request).userId, type);
        return reply.code(202).header('location', taskLocation(id)).send(taskDto(await recordOf(queue, id)));
      },
    );

    app.get(
      '/api/tasks/:id',
      { schema: { tags: ['analysis'], summary: 'One of your tasks: status, attempts, timings, result or error', params: TaskIdParam, response: { 200: TaskSchema } } },
      async (request) => {
        await owners.require(request.params.id, principalOf(request).userId);
        return taskDto(await recordOf(queue, request.params.id));
      },
    );

    app.delete(
      '/api/tasks/:id',
      { schema: { tags: ['analysis'], summary: 'Cancel one of your tasks (409 once it has finished)', params: TaskIdParam, response: { 200: TaskSchema } } },
      async (request) => {
        const id = request.params.id;
        await owners.require(id, principalOf(request).userId);
        if (!(await queue.cancel(id))) {
          const record = await recordOf(queue, id);
          throw new ConflictError(`task ${id} has already finished (${record.status})`, { status: record.status });
        }
        return taskDto(await recordOf(queue, id));
      },
    );
  };
}
