/**
 * A load to plan for, from a file (`tachyon capacity --mix FILE`): how many trading sessions, the
 * request rate they make together, orders per minute and symbols traded, and optionally the target p95
 * and headroom. scenarios/capacity-seed-000.json is seed 000's load. Orders are also checked against
 * one instance's measured durable order rate (bench:orders), since they are bounded by the commit
 * path rather than by the read mix the USL curve was fitted on.
 */
import { readFileSync } from 'node:fs';
import { unprocessable } from '../kernel/errors.ts';

export interface LoadMix {
  name: string;
  sessions: number;
  requestsPerSecond: number;
  ordersPerMinute: number;
  symbols: number;
  targetP95Ms?: number;
  headroom?: number;
}

export const DEFAULT_ORDER_MEASUREMENTS = 'bench/results/orders.json';

const REQUIRED = ['sessions', 'requestsPerSecond', 'ordersPerMinute', 'symbols'] as const;

export function loadMix(file: string): LoadMix {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw unprocessable('capacity_bad_mix', { file, reason: (error as Error).message });
  }
  for (const key of [...REQUIRED, 'targetP95Ms', 'headroom'] as const) {
    const value = raw[key];
    if (value === undefined && !(REQUIRED as readonly string[]).includes(key)) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (key !== 'headroom' && value === 0) || (key === 'headroom' && value >= 1)) {
      throw unprocessable('capacity_bad_mix', { file, reason: `${key} must be a ${key === 'headroom' ? 'number from 0 to below 1' : 'positive number'} (got ${JSON.stringify(value)})` });
    }
  }
  return { name: typeof raw.name === 'string' ? raw.name : file, ...(raw as Omit<LoadMix, 'name'>) };
}

export interface OrderCheck {
  ordersPerSecond: number;
  /** One instance's measured durable orders/s (bench:orders), null when not measured. */
  measuredPerInstance: number | null;
  /** Instances the order rate alone needs at the same headroom (null when not measured). */
  instances: number | null;
}

/** Orders per second against one instance's measured durable order rate, at the plan's headroom. */
export function checkOrders(mix: LoadMix, headroom: number, file = DEFAULT_ORDER_MEASUREMENTS): OrderCheck {
  const ordersPerSecond = mix.ordersPerMinute / 60;
  let measured: number | null = null;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { orders?: { perSecond?: unknown } };
    measured = typeof data.orders?.perSecond === 'number' && data.orders.perSecond > 0 ? data.orders.perSecond : null;
  } catch {
    measured = null;
  }
  return { ordersPerSecond, measuredPerInstance: measured, instances: measured === null ? null : Math.max(1, Math.ceil(ordersPerSecond / (measured * (1 - headroom)))) };
}
