/**
 * Backtest options (costs, sizing, shorting) with their schema and defaults, and the size limits
 * that decide whether a request runs inline, goes to the task queue, or is refused.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BadRequestError, unprocessable } from '../kernel/errors.ts';

export const BacktestOptionsSchema = Type.Object(
  {
    initialCash: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, default: 100_000, description: 'Starting capital (split equally across symbols)' }),
    commissionBps: Type.Number({ minimum: 0, maximum: 1000, default: 1, description: 'Commission in basis points of each fill’s notional' }),
    commissionPerTrade: Type.Number({ minimum: 0, maximum: 1e6, default: 0, description: 'Fixed commission per fill' }),
    slippageBps: Type.Number({ minimum: 0, maximum: 1000, default: 2, description: 'Fill price worse than the open by this many basis points' }),
    allowShort: Type.Boolean({ default: false, description: 'Take short positions on −1 signals (otherwise go flat)' }),
    positionFraction: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1, description: 'Fraction of (sleeve) equity committed to each new position' }),
    fractionalShares: Type.Boolean({ default: false, description: 'Allow fractional quantities (otherwise whole units)' }),
    interval: Type.Union([Type.Literal('1m'), Type.Literal('5m'), Type.Literal('15m'), Type.Literal('1h'), Type.Literal('1d')], { default: '1d' }),
    session: Type.Union([Type.Literal('exchange'), Type.Literal('continuous')], { default: 'exchange', description: 'Annualization: 252×6.5 h or 365×24 h' }),
    maxTrades: Type.Integer({ minimum: 0, maximum: 100_000, default: 1000, description: 'Trades listed in the result (all are counted in the metrics)' }),
  },
  { additionalProperties: false },
);
export type BacktestOptions = Static<typeof BacktestOptionsSchema>;

export const DEFAULT_BACKTEST_OPTIONS: BacktestOptions = {
  initialCash: 100_000,
  commissionBps: 1,
  commissionPerTrade: 0,
  slippageBps: 2,
  allowShort: false,
  positionFraction: 1,
  fractionalShares: false,
  interval: '1d',
  session: 'exchange',
  maxTrades: 1000,
};

const check = TypeCompiler.Compile(BacktestOptionsSchema);

/** Fills defaults and validates; throws BadRequestError naming the first wrong field. */
export function validateBacktestOptions(input: unknown = {}): BacktestOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new BadRequestError('options must be an object', { field: 'options' });
  const merged = { ...DEFAULT_BACKTEST_OPTIONS, ...input };
  const error = check.Errors(merged).First();
  if (error) {
    const field = 'options' + error.path.replaceAll('/', '.');
    throw new BadRequestError(`${field}: ${error.message}`, { field });
  }
  return merged as BacktestOptions;
}

export interface BacktestLimits {
  /** symbols × bars above which a request is refused (422). */
  maxSymbolBars: number;
  /** symbols × bars up to which a backtest answers inline; above, it becomes a queued task. */
  inlineSymbolBars: number;
}

// A year of 1-minute bars (98,280 at 390/day) answers inline in well under the 1 s target on one
// core; 2,000 symbols × 5 years of daily bars (2.5 M) is a queued, pool-parallel job. The hard cap
// bounds memory too: loading takes about 88 bytes a bar (decoded reads, then the shared panel).
export const DEFAULT_BACKTEST_LIMITS: BacktestLimits = { maxSymbolBars: 5_000_000, inlineSymbolBars: 600_000 };

export type BacktestPlan = 'inline' | 'queue';

/** Decides where a backtest runs; throws UnprocessableError (422) with the limit when it is too large. */
export function planBacktest(symbols: number, bars: number, limits: BacktestLimits = DEFAULT_BACKTEST_LIMITS): BacktestPlan {
  const size = symbols * bars;
  if (size > limits.maxSymbolBars) {
    throw unprocessable('backtest_too_large', { size, limit: limits.maxSymbolBars }, {
      symbols,
      bars,
      limit: limits.maxSymbolBars,
    });
  }
  return size <= limits.inlineSymbolBars ? 'inline' : 'queue';
}
