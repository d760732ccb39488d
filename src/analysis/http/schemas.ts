/** Schemas more than one analysis resource uses; each resource keeps its own beside its routes. */
import { Type } from '@fastify/type-provider-typebox';
import { Timestamp } from '../../http/validation.ts';
import { PRIORITIES } from '../task-queue/port.ts';

export const tags = ['analysis'];
export const Interval = Type.Union(['1m', '5m', '15m', '1h', '1d'].map((i) => Type.Literal(i as '1m' | '5m' | '15m' | '1h' | '1d')));
export const SymbolName = Type.String({ minLength: 1, maxLength: 12, pattern: '^[A-Za-z0-9.\\-]+$' });
export const Priority = Type.Union(PRIORITIES.map((p) => Type.Literal(p)), { default: 'normal' });
export const Time = Timestamp();
export const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);
export const Anything = Type.Record(Type.String(), Type.Unknown());

export const MetricsSchema = Type.Object({
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

export const EquitySchema = Type.Object({ ts: Type.Array(Type.Number()), value: Type.Array(Type.Number()) });

/** A strategy's performance as the route serves it, and as a recomputation writes it through to the cache. */
export const PerformanceSchema = Type.Object({
  strategyId: Type.Integer(),
  computedAt: Type.Integer(),
  window: Type.Object({ from: Nullable(Type.Number()), to: Nullable(Type.Number()), bars: Type.Integer(), symbols: Type.Integer() }),
  metrics: Type.Union([MetricsSchema, Type.Null()]),
  equity: EquitySchema,
  error: Type.Union([Type.String(), Type.Null()]),
});
