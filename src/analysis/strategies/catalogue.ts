/**
 * The strategy catalogue (served at GET /api/strategies/catalogue) and parameter validation:
 * defaults are filled in, then the TypeBox schema (compiled once) and the cross-field rules run;
 * the first problem becomes a BadRequestError that names the field.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck, type ValueError, ValueErrorType } from '@sinclair/typebox/compiler';
import { BadRequestError } from '../../kernel/errors.ts';
import { breakout } from './breakout.ts';
import { meanReversion } from './mean-reversion.ts';
import { momentum } from './momentum.ts';
import { smaCrossover } from './sma-crossover.ts';
import type { StrategyDefinition } from './types.ts';

// The catalogue is heterogeneous by design; each entry is typed where it is defined.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyStrategy = StrategyDefinition<any>;

export const STRATEGIES: readonly AnyStrategy[] = [smaCrossover, momentum, meanReversion, breakout];
export type StrategyType = 'sma_crossover' | 'momentum' | 'mean_reversion' | 'breakout';

const byType = new Map<string, { definition: AnyStrategy; check: TypeCheck<TSchema> }>(
  STRATEGIES.map((s) => [s.type, { definition: s, check: TypeCompiler.Compile(s.schema) }]),
);

/** A strategy with validated, defaults-filled parameters: what the engine runs. */
export interface StrategySpec {
  type: StrategyType;
  params: Record<string, number>;
}

export interface CatalogueEntry {
  type: string;
  name: string;
  description: string;
  parameters: TSchema;
  defaults: Record<string, unknown>;
}

export function catalogue(): CatalogueEntry[] {
  return STRATEGIES.map((s) => ({ type: s.type, name: s.name, description: s.description, parameters: s.schema, defaults: { ...s.defaults } }));
}

export function strategyDefinition(type: string): AnyStrategy {
  const entry = byType.get(type);
  if (!entry) throw new BadRequestError(`strategy.type must be one of ${[...byType.keys()].join(', ')}`, { field: 'strategy.type' });
  return entry.definition;
}

/** Validates `params` for `type` (missing ones take their defaults); throws BadRequestError naming the field. */
export function validateParams(type: string, params: unknown = {}): StrategySpec {
  const definition = strategyDefinition(type);
  const check = byType.get(type)!.check;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new BadRequestError('params must be an object', { field: 'params' });
  }
  const merged: Record<string, unknown> = { ...definition.defaults, ...params };
  const first = check.Errors(merged).First();
  if (first) throw new BadRequestError(describe(first), { field: fieldOf(first) });
  const crossField = definition.check?.(merged);
  if (crossField) throw new BadRequestError(crossField, { field: crossField.split(' ')[0] });
  return { type: type as StrategyType, params: merged as Record<string, number> };
}

function fieldOf(error: ValueError): string {
  return 'params' + error.path.replaceAll('/', '.');
}

function describe(error: ValueError): string {
  const field = fieldOf(error);
  const schema = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `${field} must be ≥ ${String(schema.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `${field} must be ≤ ${String(schema.maximum)}`;
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return `${field} must be > ${String(schema.exclusiveMinimum)}`;
    case ValueErrorType.Integer:
      return `${field} must be an integer`;
    case ValueErrorType.Number:
      return `${field} must be a number`;
    case ValueErrorType.ObjectAdditionalProperties:
      return `${field} is not a parameter of this strategy`;
    default:
      return `${field}: ${error.message}`;
  }
}
