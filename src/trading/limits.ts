/**
 * Per-account risk limits: defaults from configuration, overridden per account by the
 * `accounts.limits` JSONB column (currency amounts as decimal numbers, e.g. {"maxOrderNotional": 250000}).
 */
import { toUnits } from '../kernel/money.ts';

export interface RiskLimits {
  /** Largest notional of one order, in units. */
  maxOrderNotional: number;
  /** Largest absolute position per symbol in shares, counting open orders on the same side. */
  maxPositionQuantity: number;
  /** Limit and stop prices must lie within this many basis points of the last price. */
  collarBps: number;
  /** Order submissions per second (a token bucket with one second of burst). */
  maxOrdersPerSecond: number;
}

/** The JSON shape stored in `accounts.limits`; every field optional. */
export interface StoredLimits {
  maxOrderNotional?: number;
  maxPositionQuantity?: number;
  collarBps?: number;
  maxOrdersPerSecond?: number;
}

/** Applies stored overrides to the defaults, ignoring malformed values (a bad row must not stop trading). */
export function resolveLimits(defaults: RiskLimits, stored: unknown): RiskLimits {
  const limits = { ...defaults };
  if (!stored || typeof stored !== 'object') return limits;
  const s = stored as Record<string, unknown>;
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (positive(s.maxOrderNotional)) {
    try {
      limits.maxOrderNotional = toUnits(s.maxOrderNotional);
    } catch {
      // more than 4 decimals or out of range: keep the default
    }
  }
  if (positive(s.maxPositionQuantity)) limits.maxPositionQuantity = Math.floor(s.maxPositionQuantity);
  if (positive(s.collarBps)) limits.collarBps = Math.floor(s.collarBps);
  if (positive(s.maxOrdersPerSecond)) limits.maxOrdersPerSecond = Math.floor(s.maxOrdersPerSecond);
  return limits;
}
