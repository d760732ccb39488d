import { describe, expect, it } from 'vitest';
import { barAt, type BarBatch } from '../../src/market-data/bar.ts';
import { BarAggregator } from '../../src/market-data/bar-aggregator.ts';

const T0 = Date.UTC(2026, 0, 5, 14, 30);
const MIN = 60_000;

function collect(): { batches: BarBatch[]; aggregator: BarAggregator } {
  const batches: BarBatch[] = [];
  return { batches, aggregator: new BarAggregator(3, (batch) => batches.push(batch)) };
}

describe('BarAggregator', () => {
  it('builds OHLCV from a hand-made tick sequence', () => {
    const { batches, aggregator } = collect();
    aggregator.onTick(1, 1_000, 10, T0 + 1_000);
    aggregator.onTick(1, 1_200, 5, T0 + 10_000);
    aggregator.onTick(1, 900, 20, T0 + 30_000);
    aggregator.onTick(1, 1_100, 1, T0 + 59_999);
    expect(aggregator.current(1)).toEqual({ ts: T0, open: 1_000, high: 1_200, low: 900, close: 1_100, volume: 36 });
    expect(aggregator.current(2)).toBeUndefined();
    aggregator.flush(T0 + 59_999);
    expect(batches).toHaveLength(0);
    aggregator.flush(T0 + MIN);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.length).toBe(1);
    expect(barAt(batches[0]!, 0)).toEqual({ instrumentId: 1, ts: T0, open: 1_000, high: 1_200, low: 900, close: 1_100, volume: 36 });
    expect(aggregator.current(1)).toBeUndefined();
  });

  it('closes the previous bar when a later minute ticks and emits one batch per rollover', () => {
    const { batches, aggregator } = collect();
    aggregator.onTick(1, 100, 1, T0 + 5_000);
    aggregator.onTick(2, 200, 2, T0 + 6_000);
    aggregator.onTick(3, 300, 3, T0 + 7_000);
    aggregator.onTick(2, 210, 2, T0 + 8_000);
    // Instrument 1 ticks in the next minute: its first bar closes but waits for flush.
    aggregator.onTick(1, 110, 4, T0 + MIN + 1_000);
    expect(batches).toHaveLength(0);
    expect(aggregator.current(1)).toEqual({ ts: T0 + MIN, open: 110, high: 110, low: 110, close: 110, volume: 4 });
    aggregator.flush(T0 + MIN + 1_000);
    expect(batches).toHaveLength(1);
    const rows = Array.from({ length: batches[0]!.length }, (_, i) => barAt(batches[0]!, i));
    expect(rows.sort((a, b) => a.instrumentId - b.instrumentId)).toEqual([
      { instrumentId: 1, ts: T0, open: 100, high: 100, low: 100, close: 100, volume: 1 },
      { instrumentId: 2, ts: T0, open: 200, high: 210, low: 200, close: 210, volume: 4 },
      { instrumentId: 3, ts: T0, open: 300, high: 300, low: 300, close: 300, volume: 3 },
    ]);
    // Nothing more until the next minute ends; then only instrument 1's second bar.
    aggregator.flush(T0 + MIN + 30_000);
    expect(batches).toHaveLength(1);
    aggregator.flush(T0 + 2 * MIN);
    expect(batches).toHaveLength(2);
    expect(batches[1]!.length).toBe(1);
    expect(barAt(batches[1]!, 0)).toMatchObject({ instrumentId: 1, ts: T0 + MIN, close: 110 });
    // Batches are not reused after emission.
    expect(batches[0]).not.toBe(batches[1]);
  });

  it('folds a late tick into the current bar without changing its close', () => {
    const { aggregator } = collect();
    aggregator.onTick(1, 100, 1, T0 + MIN + 1_000);
    aggregator.onTick(1, 90, 2, T0 + 59_000);
    expect(aggregator.current(1)).toEqual({ ts: T0 + MIN, open: 100, high: 100, low: 90, close: 100, volume: 3 });
  });

  it('grows its pending batch when many minutes close before a flush', () => {
    const { batches, aggregator } = collect();
    for (let m = 0; m < 100; m++) aggregator.onTick(2, 100 + m, 1, T0 + m * MIN);
    aggregator.flush(T0 + 100 * MIN);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.length).toBe(100);
    expect(barAt(batches[0]!, 99)).toMatchObject({ ts: T0 + 99 * MIN, open: 199 });
  });
});
