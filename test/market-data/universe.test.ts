import { describe, expect, it } from 'vitest';
import { PRICE_SCALE } from '../../src/kernel/money.ts';
import { EXCHANGES, SECTORS, buildUniverse } from '../../src/market-data/universe.ts';

describe('buildUniverse', () => {
  const universe = buildUniverse(5_000, 42);

  it('is deterministic for (count, seed), and a smaller universe is a prefix of a larger one', () => {
    expect(buildUniverse(5_000, 42)).toEqual(universe);
    expect(buildUniverse(300, 42)).toEqual(universe.slice(0, 300));
    expect(buildUniverse(300, 43)).not.toEqual(universe.slice(0, 300));
  });

  it('starts with well-known tickers and numbers ids densely from 1', () => {
    expect(universe.slice(0, 2).map((i) => i.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(universe.every((instrument, index) => instrument.id === index + 1)).toBe(true);
    expect(buildUniverse(3, 1).map((i) => i.symbol)).toEqual(['AAPL', 'MSFT', 'NVDA']);
    expect(buildUniverse(0, 1)).toEqual([]);
  });

  it('has unique 1–5 letter uppercase symbols and unique names', () => {
    const symbols = universe.map((i) => i.symbol);
    expect(new Set(symbols).size).toBe(symbols.length);
    expect(symbols.filter((symbol) => !/^[A-Z]{1,5}$/.test(symbol))).toEqual([]);
    expect(new Set(universe.map((i) => i.name)).size).toBe(universe.length);
  });

  it('spreads instruments over the sectors and exchanges', () => {
    expect(new Set(universe.map((i) => i.sector))).toEqual(new Set(SECTORS));
    expect(new Set(universe.map((i) => i.exchange))).toEqual(new Set(EXCHANGES));
  });

  it('keeps prices on the tick grid, sub-penny ticks only below $1, and parameters in range', () => {
    // One assertion over all instruments: per-item expect() calls would dominate the run time.
    const bad = universe.filter((i) => {
      const tickOk = i.tickSize === 1 ? i.basePrice < PRICE_SCALE : i.tickSize === 100 && i.basePrice >= PRICE_SCALE && i.basePrice <= 1000 * PRICE_SCALE;
      return !(
        tickOk &&
        i.basePrice > 0 &&
        i.basePrice % i.tickSize === 0 &&
        [1, 10, 100].includes(i.lotSize) &&
        i.volatility >= 0.1 &&
        i.volatility <= 0.9 &&
        Number.isInteger(i.avgVolume) &&
        i.avgVolume > 0 &&
        i.name.length > 3
      );
    });
    expect(bad).toEqual([]);
    const subDollar = universe.filter((i) => i.tickSize === 1).length;
    const biggerLots = universe.filter((i) => i.lotSize > 1).length;
    // A few sub-dollar names and some odd lots, but mostly $0.01 ticks and single shares.
    expect(subDollar).toBeGreaterThan(0);
    expect(subDollar).toBeLessThan(universe.length * 0.05);
    expect(biggerLots).toBeGreaterThan(0);
    expect(biggerLots).toBeLessThan(universe.length * 0.2);
  });

  it('rejects impossible sizes', () => {
    expect(() => buildUniverse(-1, 1)).toThrow(RangeError);
    expect(() => buildUniverse(1.5, 1)).toThrow(RangeError);
  });
});
