/**
 * Builds 1-minute bars from ticks. The bar in progress per instrument lives in typed arrays; a tick
 * for a later minute closes the previous bar into a pending columnar batch, and flush() closes bars
 * whose minute has ended and hands everything pending to `onBars` as ONE batch, so storage gets one
 * bulk insert per minute rollover instead of one write per tick. Minutes without ticks produce no
 * bar (no forward fill).
 */
import { createBarBatch, type Bar, type BarBatch } from './bar.ts';
import { MINUTE_MS } from './market-clock.ts';

export class BarAggregator {
  private readonly active: Uint8Array;
  private readonly start: Float64Array;
  private readonly open: Float64Array;
  private readonly high: Float64Array;
  private readonly low: Float64Array;
  private readonly close: Float64Array;
  private readonly volume: Float64Array;
  private pending: BarBatch;
  /** Earliest end of an active bar's minute: flush() before it has nothing to do. */
  private nextDue = Infinity;

  constructor(
    private readonly instrumentCount: number,
    private readonly onBars: (batch: BarBatch) => void,
  ) {
    const n = instrumentCount + 1;
    this.active = new Uint8Array(n);
    this.start = new Float64Array(n);
    this.open = new Float64Array(n);
    this.high = new Float64Array(n);
    this.low = new Float64Array(n);
    this.close = new Float64Array(n);
    this.volume = new Float64Array(n);
    this.pending = createBarBatch(Math.max(16, n));
  }

  onTick(id: number, price: number, size: number, ts: number): void {
    if (!(id >= 1 && id <= this.instrumentCount)) throw new RangeError(`unknown instrument id ${id}`);
    const minute = ts - (((ts % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    if (this.active[id] === 1) {
      const start = this.start[id]!;
      if (minute <= start) {
        // Same minute (a late tick from an earlier minute is folded into the current bar, never reopening a closed one).
        if (price > this.high[id]!) this.high[id] = price;
        if (price < this.low[id]!) this.low[id] = price;
        if (minute === start) this.close[id] = price;
        this.volume[id]! += size;
        return;
      }
      this.closeBar(id);
    }
    this.active[id] = 1;
    this.start[id] = minute;
    this.open[id] = price;
    this.high[id] = price;
    this.low[id] = price;
    this.close[id] = price;
    this.volume[id] = size;
    if (minute + MINUTE_MS < this.nextDue) this.nextDue = minute + MINUTE_MS;
  }

  /** Closes every bar whose minute ended at or before `uptoMs` and emits all closed bars as one batch. */
  flush(uptoMs: number): void {
    if (uptoMs >= this.nextDue) {
      let nextDue = Infinity;
      for (let id = 1; id <= this.instrumentCount; id++) {
        if (this.active[id] !== 1) continue;
        const end = this.start[id]! + MINUTE_MS;
        if (end <= uptoMs) {
          this.closeBar(id);
          this.active[id] = 0;
        } else if (end < nextDue) {
          nextDue = end;
        }
      }
      this.nextDue = nextDue;
    }
    if (this.pending.length === 0) return;
    // A fresh batch each time: the consumer may still be inserting the previous one asynchronously.
    const batch = this.pending;
    this.pending = createBarBatch(Math.max(16, this.instrumentCount + 1));
    this.onBars(batch);
  }

  /** The bar in progress for an instrument. */
  current(id: number): Bar | undefined {
    if (!(id >= 1 && id <= this.instrumentCount) || this.active[id] !== 1) return undefined;
    return {
      ts: this.start[id]!,
      open: this.open[id]!,
      high: this.high[id]!,
      low: this.low[id]!,
      close: this.close[id]!,
      volume: this.volume[id]!,
    };
  }

  private closeBar(id: number): void {
    let batch = this.pending;
    if (batch.length === batch.ts.length) batch = this.pending = grow(batch);
    const row = batch.length++;
    batch.instrumentId[row] = id;
    batch.ts[row] = this.start[id]!;
    batch.open[row] = this.open[id]!;
    batch.high[row] = this.high[id]!;
    batch.low[row] = this.low[id]!;
    batch.close[row] = this.close[id]!;
    batch.volume[row] = this.volume[id]!;
  }
}

function grow(batch: BarBatch): BarBatch {
  const bigger = createBarBatch(batch.ts.length * 2);
  bigger.length = batch.length;
  bigger.instrumentId.set(batch.instrumentId);
  bigger.ts.set(batch.ts);
  bigger.open.set(batch.open);
  bigger.high.set(batch.high);
  bigger.low.set(batch.low);
  bigger.close.set(batch.close);
  bigger.volume.set(batch.volume);
  return bigger;
}
