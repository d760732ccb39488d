import type { TSchema } from '@sinclair/typebox';
import type { BarSeries } from '../series.ts';
import type { Scratch } from '../scratch.ts';

/**
 * A strategy turns bars into a target position per bar: +1 long, −1 short, 0 flat, decided on the
 * bar's close. The backtest engine executes a change at the next bar's open, so a signal can never
 * trade on the price that produced it (no look-ahead).
 */
export interface StrategyDefinition<P> {
  type: string;
  name: string;
  description: string;
  schema: TSchema;
  defaults: P;
  /** Rules across fields that a JSON Schema cannot state; returns the message naming the field. */
  check?(params: P): string | undefined;
  /** Writes the target position for each bar into `out` (length = series.length). */
  signals(series: BarSeries, params: P, out: Int8Array, scratch: Scratch): void;
}
