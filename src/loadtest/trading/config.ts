/**
 * The trading mix's configuration: what a scenario file (TypeScript or YAML) sets. Weights are
 * relative (they need not sum to 100); an operation with weight 0 never runs.
 */
import { BadRequestError } from '../../kernel/errors.ts';
import type { ScenarioOptions } from '../scenario.ts';

/** One weighted step of a virtual trader's iteration. */
export const OPERATIONS = ['quote', 'bars', 'portfolio', 'marketOrder', 'limitOrder', 'strategies', 'backtest', 'prediction', 'history'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type Weights = Partial<Record<Operation, number>>;

/**
 * A trading day's read-heavy mix: quotes and portfolio dominate, orders are a fifth; strategies,
 * backtests and predictions are the analysis users' share.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<Operation, number>> = {
  quote: 38,
  bars: 12,
  portfolio: 18,
  marketOrder: 10,
  limitOrder: 10,
  strategies: 3,
  backtest: 1,
  prediction: 4,
  history: 2,
};

/** The mix's own settings; a TradingConfig is these plus the scenario options (executor, thresholds, …). */
export interface TradingMix {
  /** Overrides of DEFAULT_WEIGHTS; unnamed operations keep their default. */
  weights?: Weights;
  /** Share of VUs (0–1) holding a WebSocket session on their quotes and orders channels (default 1). */
  websocket?: number;
  /** Symbols traded and queried (default: the first `universe` instruments of the platform). */
  symbols?: string[];
  universe?: number;
  /** Symbols per VU watchlist (its quote subscriptions and orders). */
  watchlist?: number;
  /** Paper cash each VU account opens with (currency units). */
  openingCash?: number;
  /** Shares per order: a uniform draw in [1, maxQuantity]. */
  maxQuantity?: number;
  /** Days of 1-minute bars the `history` operation asks for (the volume scenario's large queries). */
  historyDays?: number;
  /** How long to wait for a market order's fill before counting it unfilled (default 5s). */
  fillTimeoutMs?: number;
  /** Every this many ms (0 = never), VU 1 reads the server's memory (admin health) into server_memory_rss_mb: soak runs watch it. */
  memorySampleMs?: number;
}

export type TradingConfig = ScenarioOptions & TradingMix;

const MIX_KEYS = ['weights', 'websocket', 'symbols', 'universe', 'watchlist', 'openingCash', 'maxQuantity', 'historyDays', 'fillTimeoutMs', 'memorySampleMs'] as const satisfies ReadonlyArray<keyof TradingMix>;
const OPTION_KEYS = ['executor', 'thresholds', 'tags', 'gracefulStop', 'connections'] as const satisfies ReadonlyArray<keyof ScenarioOptions>;

/** Splits a flat config (as written in a scenario file) into scenario options and mix settings; unknown keys are errors (typos in YAML). */
export function splitConfig(config: TradingConfig): { options: ScenarioOptions; mix: TradingMix } {
  const options: Record<string, unknown> = {};
  const mix: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if ((OPTION_KEYS as readonly string[]).includes(key)) options[key] = value;
    else if ((MIX_KEYS as readonly string[]).includes(key)) mix[key] = value;
    else throw new BadRequestError(`unknown scenario setting "${key}" (expected one of ${[...OPTION_KEYS, ...MIX_KEYS].join(', ')})`);
  }
  if (!options.executor) throw new BadRequestError('a scenario needs an executor');
  return { options: options as unknown as ScenarioOptions, mix: mix as TradingMix };
}

export interface ResolvedTrading {
  weights: Record<Operation, number>;
  websocket: number;
  symbols: string[] | undefined;
  universe: number;
  watchlist: number;
  openingCash: number;
  maxQuantity: number;
  historyDays: number;
  fillTimeoutMs: number;
  memorySampleMs: number;
}

export function resolveTrading(config: TradingMix): ResolvedTrading {
  const weights = { ...DEFAULT_WEIGHTS };
  for (const [name, weight] of Object.entries(config.weights ?? {})) {
    if (!(OPERATIONS as readonly string[]).includes(name)) throw new BadRequestError(`weights.${name}: unknown operation (one of ${OPERATIONS.join(', ')})`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new BadRequestError(`weights.${name} must be a number ≥ 0`);
    weights[name as Operation] = weight;
  }
  if (Object.values(weights).every((w) => w === 0)) throw new BadRequestError('weights: at least one operation needs a positive weight');
  const websocket = config.websocket ?? 1;
  if (!(websocket >= 0 && websocket <= 1)) throw new BadRequestError('websocket must be a share between 0 and 1');
  return {
    weights,
    websocket,
    symbols: config.symbols?.map((s) => s.toUpperCase()),
    universe: positive(config.universe ?? 50, 'universe'),
    watchlist: positive(config.watchlist ?? 5, 'watchlist'),
    openingCash: positive(config.openingCash ?? 1_000_000, 'openingCash'),
    maxQuantity: positive(config.maxQuantity ?? 10, 'maxQuantity'),
    historyDays: positive(config.historyDays ?? 5, 'historyDays'),
    fillTimeoutMs: positive(config.fillTimeoutMs ?? 5_000, 'fillTimeoutMs'),
    memorySampleMs: config.memorySampleMs ? positive(config.memorySampleMs, 'memorySampleMs') : 0,
  };
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new BadRequestError(`${name} must be positive`);
  return value;
}

/** Cumulative weights for O(ops) picking without allocation per iteration. */
export function picker(weights: Record<Operation, number>): (random: number) => Operation {
  const ops = OPERATIONS.filter((op) => weights[op] > 0);
  const total = ops.reduce((sum, op) => sum + weights[op], 0);
  let acc = 0;
  const edges = ops.map((op) => (acc += weights[op] / total));
  return (random) => {
    for (let i = 0; i < edges.length; i++) if (random < (edges[i] as number)) return ops[i] as Operation;
    return ops[ops.length - 1] as Operation;
  };
}
