/** HTTP adapter over the trading engine: orders, portfolio, and per-account risk settings (admin). */
import type { FastifyInstance } from 'fastify';
import type { Forwarder } from '../cluster/forwarding.ts';
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { accountOf, principalOf } from '../http/access.ts';
import { EpochMs } from '../http/validation.ts';
import type { Clock } from '../kernel/clock.ts';
import { BadRequestError, NotFoundError } from '../kernel/errors.ts';
import { fromUnits, parseAmount } from '../kernel/money.ts';
import { utcDayStart } from '../market-data/market-clock.ts';
import type { MarketData } from '../market-data/service.ts';
import { API_ORDER_TYPES, OrderSchema, toOrderDto, toOrderType } from './dto.ts';
import type { TradingEngine } from './engine.ts';
import { ORDER_STATUSES, type OrderRequest } from './order.ts';
import { valuePortfolio, type PositionView } from './portfolio.ts';

const Price = Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description: 'decimal, at most 4 places' });
const AccountQuery = { accountId: Type.Optional(Type.Integer({ minimum: 1, description: 'one of your accounts; your first by default' })) };
const Cursor = Type.Optional(Type.String({ maxLength: 200 }));
const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

const PlaceBody = Type.Object(
  {
    ...AccountQuery,
    symbol: Type.String({ minLength: 1, maxLength: 12, pattern: '^[A-Za-z0-9.\\-]+$' }),
    side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
    type: Type.Union(API_ORDER_TYPES.map((t) => Type.Literal(t))),
    timeInForce: Type.Union([Type.Literal('day'), Type.Literal('gtc'), Type.Literal('ioc'), Type.Literal('fok')], { default: 'day' }),
    quantity: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    limitPrice: Type.Optional(Price),
    stopPrice: Type.Optional(Price),
    clientOrderId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:\\-]+$' })),
  },
  { additionalProperties: false },
);

const PositionSchema = Type.Object({
  symbol: Type.String(),
  quantity: Type.Integer(),
  averagePrice: Type.Number(),
  costBasis: Type.Number(),
  lastPrice: Type.Number(),
  marketValue: Type.Number(),
  unrealizedPnl: Type.Number(),
  realizedPnl: Type.Number(),
});

const PortfolioSchema = Type.Object({
  accountId: Type.Integer(),
  openingCash: Type.Number(),
  cash: Type.Number(),
  reservedCash: Type.Number({ description: 'held back for open orders' }),
  buyingPower: Type.Number(),
  marketValue: Type.Number(),
  equity: Type.Number(),
  unrealizedPnl: Type.Number(),
  realizedPnl: Type.Number(),
  dayChange: Type.Number({ description: 'equity now minus equity at the start of the session' }),
  positions: Type.Array(PositionSchema),
});

const TransactionSchema = Type.Object({
  id: Type.Integer(),
  kind: Type.String(),
  amount: Type.Number(),
  balanceAfter: Type.Number(),
  refId: Type.Union([Type.Integer(), Type.Null()]),
  ts: Type.Integer(),
});

const RiskSettings = Type.Object(
  {
    allowShort: Type.Boolean(),
    limits: Type.Object(
      {
        maxOrderNotional: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e11 })),
        maxPositionQuantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9 })),
        collarBps: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
        maxOrdersPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** Parses a client price; missing where required, present where meaningless, or malformed is a 400 naming the field. */
function orderRequest(body: Static<typeof PlaceBody>): OrderRequest {
  const type = toOrderType(body.type);
  const needsLimit = type === 'limit' || type === 'stop_limit';
  const needsStop = type === 'stop' || type === 'stop_limit';
  const price = (value: number | string | undefined, field: 'limitPrice' | 'stopPrice', needed: boolean): number | null => {
    if (value === undefined) {
      if (needed) throw new BadRequestError(`body.${field} is required for ${body.type} orders`, { field: `body.${field}` });
      return null;
    }
    if (!needed) throw new BadRequestError(`body.${field} is not allowed on ${body.type} orders`, { field: `body.${field}` });
    const units = parseAmount(value, `body.${field}`);
    if (units <= 0) throw new BadRequestError(`body.${field} must be positive`, { field: `body.${field}` });
    return units;
  };
  return {
    symbol: body.symbol.toUpperCase(),
    side: body.side,
    type,
    timeInForce: body.timeInForce,
    quantity: body.quantity,
    limitPrice: price(body.limitPrice, 'limitPrice', needsLimit),
    stopPrice: price(body.stopPrice, 'stopPrice', needsStop),
    clientOrderId: body.clientOrderId ?? null,
  };
}

/**
 * Commands and live reads of an account (orders placed or cancelled, portfolio at live prices, risk
 * settings) are served by its owning instance: `forwarder` relays them there. Listings read the database.
 */
export function tradingRoutes(deps: { engine: TradingEngine; marketData: MarketData; clock: Clock; forwarder: Forwarder }) {
  const { engine, marketData, clock, forwarder } = deps;
  const symbolOf = (id: number) => marketData.book.symbolOf(id) ?? String(id);
  const toPositionDto = (p: PositionView): Static<typeof PositionSchema> => ({
    symbol: symbolOf(p.instrumentId),
    quantity: p.quantity,
    averagePrice: fromUnits(p.averagePrice),
    costBasis: fromUnits(p.costBasis),
    lastPrice: fromUnits(p.lastPrice),
    marketValue: fromUnits(p.marketValue),
    unrealizedPnl: fromUnits(p.unrealizedPnl),
    realizedPnl: fromUnits(p.realizedPnl),
  });
  const priceOf = (id: number) => engine.lastPrice(id);

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    // Orders and portfolios are one account's money at live prices: no cache anywhere keeps them.
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('cache-control', 'private, no-store');
    });

    app.post(
      '/api/orders',
      {
        schema: {
          tags: ['trading'],
          summary: 'Place an order. 201 once it and its immediate fills are committed; 422 with a reason code when risk checks reject it. A repeated clientOrderId returns the original order (Idempotent-Replayed: true) or 409 if the payload differs.',
          body: PlaceBody,
          response: { 201: OrderSchema },
        },
      },
      async (request, reply) => {
        const accountId = accountOf(request, request.body.accountId);
        const placed = await forwarder.serve(request, reply, accountId, () => engine.place(accountId, orderRequest(request.body)));
        if (!placed) return reply;
        if (placed.replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).send(toOrderDto(placed.order));
      },
    );

    app.get(
      '/api/orders',
      {
        schema: {
          tags: ['trading'],
          summary: 'Your orders, newest first (cursor pagination)',
          querystring: Type.Object(
            {
              ...AccountQuery,
              status: Type.Optional(Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)))),
              symbol: Type.Optional(Type.String({ minLength: 1, maxLength: 12 })),
              limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
              cursor: Cursor,
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ items: Type.Array(OrderSchema), nextCursor: Type.Optional(Type.String()) }) },
        },
      },
      async (request) => {
        const { status, symbol, limit, cursor } = request.query;
        const accountId = accountOf(request, request.query.accountId);
        const instrumentId = symbol === undefined ? undefined : marketData.findInstrument(symbol)?.id;
        if (symbol !== undefined && instrumentId === undefined) return { items: [] };
        const page = await engine.orders(accountId, { status, instrumentId, limit, cursor });
        return { items: page.items.map(toOrderDto), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/api/orders/:id',
      { schema: { tags: ['trading'], summary: 'One of your orders', params: IdParam, response: { 200: OrderSchema } } },
      async (request) => {
        const order = await engine.order(request.params.id, principalOf(request).accountIds);
        if (!order) throw new NotFoundError(`order ${request.params.id} not found`);
        return toOrderDto(order);
      },
    );

    app.delete(
      '/api/orders/:id',
      { schema: { tags: ['trading'], summary: 'Cancel an open order (409 once filled, cancelled or expired)', params: IdParam, response: { 200: OrderSchema } } },
      async (request, reply) => {
        const { accountIds } = principalOf(request);
        const owner = accountIds.length === 1 ? accountIds[0] : (await engine.order(request.params.id, accountIds))?.accountId;
        const cancel = () => engine.cancel(accountIds, request.params.id);
        const cancelled = owner === undefined ? await cancel() : await forwarder.serve(request, reply, owner, cancel);
        return cancelled ? toOrderDto(cancelled) : reply;
      },
    );

    app.get(
      '/api/portfolio',
      {
        schema: { tags: ['portfolio'], summary: 'Cash, equity, buying power and positions at live prices', querystring: Type.Object(AccountQuery, { additionalProperties: false }), response: { 200: PortfolioSchema } },
      },
      async (request, reply) => {
        const accountId = accountOf(request, request.query.accountId);
        const view = await forwarder.serve(request, reply, accountId, () => engine.read(accountId, (account) => valuePortfolio(account, priceOf)));
        if (!view) return reply;
        const now = clock.now();
        const dayStart = marketData.marketClock.sessionStart(now) ?? utcDayStart(now);
        const reference = (await engine.dayOpenEquity(accountId, dayStart)) ?? view.openingCash;
        return {
          accountId,
          openingCash: fromUnits(view.openingCash),
          cash: fromUnits(view.cash),
          reservedCash: fromUnits(view.reservedCash),
          buyingPower: fromUnits(view.buyingPower),
          marketValue: fromUnits(view.marketValue),
          equity: fromUnits(view.equity),
          unrealizedPnl: fromUnits(view.unrealizedPnl),
          realizedPnl: fromUnits(view.realizedPnl),
          dayChange: fromUnits(view.equity - reference),
          positions: view.positions.map(toPositionDto),
        };
      },
    );

    app.get(
      '/api/portfolio/positions',
      {
        schema: { tags: ['portfolio'], summary: 'Open positions at live prices', querystring: Type.Object(AccountQuery, { additionalProperties: false }), response: { 200: Type.Object({ positions: Type.Array(PositionSchema) }) } },
      },
      async (request, reply) => {
        const accountId = accountOf(request, request.query.accountId);
        const view = await forwarder.serve(request, reply, accountId, () => engine.read(accountId, (account) => valuePortfolio(account, priceOf)));
        return view ? { positions: view.positions.map(toPositionDto) } : reply;
      },
    );

    app.get(
      '/api/portfolio/transactions',
      {
        schema: {
          tags: ['portfolio'],
          summary: 'Cash transactions, newest first (cursor pagination)',
          querystring: Type.Object({ ...AccountQuery, limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }), cursor: Cursor }, { additionalProperties: false }),
          response: { 200: Type.Object({ items: Type.Array(TransactionSchema), nextCursor: Type.Optional(Type.String()) }) },
        },
      },
      async (request) => {
        const accountId = accountOf(request, request.query.accountId);
        const page = await engine.transactions(accountId, request.query.limit, request.query.cursor);
        return { items: page.items.map((t) => ({ ...t, amount: fromUnits(t.amount), balanceAfter: fromUnits(t.balanceAfter) })), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/api/portfolio/history',
      {
        schema: {
          tags: ['portfolio'],
          summary: 'Equity curve: periodic snapshots plus the live value now',
          querystring: Type.Object(
            {
              ...AccountQuery,
              from: Type.Optional(EpochMs('epoch ms; default 30 days before `to`')),
              to: Type.Optional(EpochMs('epoch ms; default now')),
              limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1_000 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ points: Type.Array(Type.Object({ ts: Type.Integer(), equity: Type.Number(), cash: Type.Number() })) }) },
        },
      },
      async (request, reply) => {
        const accountId = accountOf(request, request.query.accountId);
        const points = await forwarder.serve(request, reply, accountId, async () => {
          const now = clock.now();
          const to = request.query.to ?? now;
          const from = request.query.from ?? to - 30 * 86_400_000;
          if (from >= to) throw new BadRequestError('query.from must be before query.to', { field: 'query.from' });
          const stored = await engine.snapshots(accountId, from, to, request.query.limit);
          if (to >= now) {
            const view = await engine.read(accountId, (account) => valuePortfolio(account, priceOf));
            stored.push({ ts: now, equity: view.equity, cash: view.cash });
          }
          return stored;
        });
        return points ? { points: points.map((p) => ({ ts: p.ts, equity: fromUnits(p.equity), cash: fromUnits(p.cash) })) } : reply;
      },
    );

    app.put(
      '/api/admin/accounts/:id/risk',
      {
        config: { access: 'admin' },
        schema: { tags: ['admin'], summary: "Set an account's risk-limit overrides (currency amounts) and short permission", params: IdParam, body: RiskSettings },
      },
      async (request, reply) => {
        const notional = request.body.limits.maxOrderNotional;
        const configured = await forwarder.serve(request, reply, request.params.id, () => {
          if (notional !== undefined) parseAmount(notional, 'body.limits.maxOrderNotional');
          return engine.configureAccount(request.params.id, request.body);
        });
        return configured ? { accountId: request.params.id, allowShort: configured.allowShort, limits: { ...configured.limits, maxOrderNotional: fromUnits(configured.limits.maxOrderNotional) } } : reply;
      },
    );
  };
}
