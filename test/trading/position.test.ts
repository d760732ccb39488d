import { describe, expect, it } from 'vitest';
import { applyFill, type Position } from '../../src/trading/position.ts';

const flat = (): Position => ({ quantity: 0, costBasis: 0, realizedPnl: 0 });

/** The reconciliation invariant: cost basis − realized P&L equals the net traded notional. */
function netOf(fills: [('buy' | 'sell'), number, number][]): number {
  return fills.reduce((sum, [side, q, p]) => sum + (side === 'buy' ? q * p : -q * p), 0);
}

describe('position accounting', () => {
  it('averages cost on adds and realizes P&L on reductions', () => {
    const p = flat();
    applyFill(p, 'buy', 10, 1_000_000);
    applyFill(p, 'buy', 10, 1_100_000);
    expect(p).toEqual({ quantity: 20, costBasis: 21_000_000, realizedPnl: 0 });
    expect(applyFill(p, 'sell', 5, 1_200_000)).toBe(5 * 1_200_000 - 5_250_000);
    expect(p).toEqual({ quantity: 15, costBasis: 15_750_000, realizedPnl: 750_000 });
  });

  it('flips from long to short through zero, and closes shorts', () => {
    const fills: ['buy' | 'sell', number, number][] = [['buy', 10, 1_000_000], ['sell', 15, 1_100_000], ['buy', 2, 900_000], ['buy', 3, 1_000_000]];
    const p = flat();
    for (const [side, q, price] of fills) applyFill(p, side, q, price);
    expect(p.quantity).toBe(0);
    expect(p.costBasis).toBe(0);
    // Long 10 at 100 sold at 110: +100; short 5 at 110 covered 2 at 90 and 3 at 100: +40 +30.
    expect(p.realizedPnl).toBe(1_700_000);
    expect(p.costBasis - p.realizedPnl).toBe(netOf(fills));
  });

  it('keeps the invariant exact when partial closes do not divide evenly', () => {
    const fills: ['buy' | 'sell', number, number][] = [['buy', 3, 1_000_001], ['sell', 1, 999_999], ['sell', 1, 1_000_003], ['buy', 7, 1_000_000], ['sell', 8, 1_000_007]];
    const p = flat();
    for (const [side, q, price] of fills) {
      applyFill(p, side, q, price);
      expect(Number.isInteger(p.costBasis)).toBe(true);
    }
    expect(p.quantity).toBe(0);
    expect(p.costBasis - p.realizedPnl).toBe(netOf(fills));
  });
});
