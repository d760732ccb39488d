/**
 * Position accounting with exact integers. `costBasis` is the signed cost of the open quantity
 * (negative for shorts); closing part of a position removes its proportional share of the cost and
 * books the difference to realized P&L. Invariant (checked by `tachyon reconcile`):
 *   costBasis − realizedPnl = Σ buys(quantity × price) − Σ sells(quantity × price)
 */
import type { Side } from './order.ts';

export interface Position {
  quantity: number;
  costBasis: number;
  realizedPnl: number;
}

/** Applies one fill to a position in place; returns the realized P&L of this fill. */
export function applyFill(position: Position, side: Side, quantity: number, price: number): number {
  const signed = side === 'buy' ? quantity : -quantity;
  const held = position.quantity;
  let realized = 0;
  if (held === 0 || Math.sign(held) === Math.sign(signed)) {
    position.costBasis += signed * price;
  } else {
    const closing = Math.min(quantity, Math.abs(held));
    // The whole position closes: remove all its cost, so no rounding residue survives.
    const removed = closing === Math.abs(held) ? position.costBasis : proportion(position.costBasis, closing, Math.abs(held));
    // Long closed by a sale: proceeds − cost. Short closed by a purchase: |cost| − price paid.
    realized = held > 0 ? closing * price - removed : -removed - closing * price;
    position.costBasis -= removed;
    const opening = quantity - closing;
    if (opening > 0) position.costBasis += Math.sign(signed) * opening * price;
  }
  position.quantity = held + signed;
  position.realizedPnl += realized;
  return realized;
}

/** round(value × part / whole) without leaving the safe-integer range (value × part may exceed 2^53). */
function proportion(value: number, part: number, whole: number): number {
  const v = BigInt(value) * BigInt(part);
  const w = BigInt(whole);
  const q = v / w;
  const r = v % w;
  // Round half away from zero.
  const adjust = 2n * (r < 0n ? -r : r) >= w ? (v < 0n ? -1n : 1n) : 0n;
  return Number(q + adjust);
}

export function marketValue(position: Position, price: number): number {
  return position.quantity * price;
}

export function unrealizedPnl(position: Position, price: number): number {
  return position.quantity * price - position.costBasis;
}
