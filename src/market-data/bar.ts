/** OHLCV bars. Prices are integer units (kernel/money.ts), volume is shares. */
export interface Bar {
  /** Epoch ms of the bar's start. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Columnar rows (row i across all arrays) for bulk inserts without per-row objects; `length` rows are valid. */
export interface BarBatch {
  length: number;
  instrumentId: Int32Array;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export function createBarBatch(capacity: number): BarBatch {
  return {
    length: 0,
    instrumentId: new Int32Array(capacity),
    ts: new Float64Array(capacity),
    open: new Float64Array(capacity),
    high: new Float64Array(capacity),
    low: new Float64Array(capacity),
    close: new Float64Array(capacity),
    volume: new Float64Array(capacity),
  };
}

/** Row `i` of a batch as an object (for tests and small consumers). */
export function barAt(batch: BarBatch, i: number): Bar & { instrumentId: number } {
  if (!(i >= 0 && i < batch.length)) throw new RangeError(`row ${i} outside batch of ${batch.length}`);
  return {
    instrumentId: batch.instrumentId[i]!,
    ts: batch.ts[i]!,
    open: batch.open[i]!,
    high: batch.high[i]!,
    low: batch.low[i]!,
    close: batch.close[i]!,
    volume: batch.volume[i]!,
  };
}
