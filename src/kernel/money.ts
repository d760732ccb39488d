import { BadRequestError } from './errors.ts';

/**
 * Fixed-point money and prices. Every price and cash amount is an integer count of
 * 1/10,000 of the currency unit (PRICE_SCALE), so sums and products never drift the way
 * floats do. Quantities are whole units (lot sizes are integers). Values stay far inside
 * Number.MAX_SAFE_INTEGER for realistic notionals (9e11 currency units).
 */
export const PRICE_SCALE = 10_000;

/** Converts a decimal (number or string) into scaled integer units; rejects more than 4 decimals. */
export function toUnits(value: number | string): number {
  const text = typeof value === 'number' ? String(value) : value.trim();
  const match = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (!match) throw new RangeError(`not a decimal with at most 4 places: ${text}`);
  const [, sign, whole, frac = ''] = match;
  const units = Number(whole) * PRICE_SCALE + Number(frac.padEnd(4, '0'));
  if (!Number.isSafeInteger(units)) throw new RangeError(`amount out of range: ${text}`);
  return sign === '-' ? -units : units;
}

/** Converts scaled units back to a JSON number (exact: at most 4 decimals, shortest form). */
export function fromUnits(units: number): number {
  return units / PRICE_SCALE;
}

/** Rounds a price in units to the nearest multiple of a tick (also in units). */
export function roundToTick(units: number, tickUnits: number): number {
  return Math.max(tickUnits, Math.round(units / tickUnits) * tickUnits);
}

/** `toUnits` for client input: a bad amount is the client's error (400 naming the field), never a 500. */
export function parseAmount(value: number | string, field: string): number {
  try {
    return toUnits(value);
  } catch {
    throw new BadRequestError(`${field} must be a decimal amount with at most 4 decimal places`, { field });
  }
}
