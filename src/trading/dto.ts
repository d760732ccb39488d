/**
 * The JSON shapes of orders and fills, shared by the HTTP routes and the bus events. Money is a JSON
 * number with at most 4 decimals; times are epoch milliseconds; the API spells `stop-limit` with a
 * hyphen (the database and code use `stop_limit`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { fromUnits } from '../kernel/money.ts';
import { ORDER_STATUSES, type Order, type OrderType } from './order.ts';

export const API_ORDER_TYPES = ['market', 'limit', 'stop', 'stop-limit'] as const;
export type ApiOrderType = (typeof API_ORDER_TYPES)[number];

export const toOrderType = (type: ApiOrderType): OrderType => (type === 'stop-limit' ? 'stop_limit' : type);
const toApiType = (type: OrderType): ApiOrderType => (type === 'stop_limit' ? 'stop-limit' : type);
const price = (units: number | null) => (units === null ? null : fromUnits(units));

const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const OrderSchema = Type.Object({
  id: Type.Integer(),
  accountId: Type.Integer(),
  clientOrderId: Nullable(Type.String()),
  symbol: Type.String(),
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  type: Type.Union(API_ORDER_TYPES.map((t) => Type.Literal(t))),
  timeInForce: Type.Union([Type.Literal('day'), Type.Literal('gtc'), Type.Literal('ioc'), Type.Literal('fok')]),
  quantity: Type.Integer(),
  limitPrice: Nullable(Type.Number()),
  stopPrice: Nullable(Type.Number()),
  status: Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s))),
  filledQuantity: Type.Integer(),
  averageFillPrice: Nullable(Type.Number()),
  triggered: Type.Boolean(),
  rejectReason: Nullable(Type.String()),
  rejectMessage: Nullable(Type.String()),
  createdAt: Type.Integer({ description: 'epoch milliseconds' }),
  updatedAt: Type.Integer({ description: 'epoch milliseconds' }),
});
export type OrderDto = Static<typeof OrderSchema>;

export function toOrderDto(o: Order): OrderDto {
  return {
    id: o.id,
    accountId: o.accountId,
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: toApiType(o.type),
    timeInForce: o.timeInForce,
    quantity: o.quantity,
    limitPrice: price(o.limitPrice),
    stopPrice: price(o.stopPrice),
    status: o.status,
    filledQuantity: o.filledQuantity,
    // Rounded to whole units: an average of several fills need not be on the 1/10,000 grid.
    averageFillPrice: o.filledQuantity === 0 ? null : fromUnits(Math.round(o.filledNotional / o.filledQuantity)),
    triggered: o.triggered,
    rejectReason: o.rejectReason,
    rejectMessage: o.rejectMessage,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}

export const ORDER_EVENT_TYPES = ['accepted', 'rejected', 'filled', 'partially_filled', 'cancelled', 'expired'] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

// The events are schemas too: the WebSocket's AsyncAPI document (src/realtime/asyncapi.ts) shows them.
export const OrderEventSchema = Type.Object(
  { type: Type.Union(ORDER_EVENT_TYPES.map((t) => Type.Literal(t))), order: OrderSchema },
  { $id: 'OrderEvent', description: '`order.<accountId>`: an order changed state (the REST order, decimals).' },
);
export type OrderEvent = Static<typeof OrderEventSchema>;

export const FillEventSchema = Type.Object(
  {
    executionId: Type.Integer(),
    orderId: Type.Integer(),
    accountId: Type.Integer(),
    symbol: Type.String(),
    side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
    quantity: Type.Integer(),
    price: Type.Number({ description: 'decimal' }),
    ts: Type.Integer({ description: 'epoch milliseconds' }),
  },
  { $id: 'FillEvent', description: '`fill.<accountId>`: one execution.' },
);
export type FillEvent = Static<typeof FillEventSchema>;

export const PortfolioEventSchema = Type.Object(
  {
    accountId: Type.Integer(),
    cash: Type.Number({ description: 'decimal' }),
    symbol: Type.String(),
    quantity: Type.Integer({ description: 'the position after the fill' }),
    averagePrice: Nullable(Type.Number({ description: 'decimal; null when flat' })),
    realizedPnl: Type.Number({ description: 'decimal' }),
    ts: Type.Integer({ description: 'epoch milliseconds' }),
  },
  { $id: 'PortfolioEvent', description: '`portfolio.<accountId>`: what changed in the account after a fill.' },
);
export type PortfolioEvent = Static<typeof PortfolioEventSchema>;
