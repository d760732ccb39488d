import { describe, expect, it } from 'vitest';
import type { BarBatch } from '../../src/market-data/bar.ts';
import { generateHistory, historyRowCount, type HistoryOptions } from '../../src/market-data/history.ts';
import { MarketClock } from '../../src/market-data/market-clock.ts';
import { buildUniverse } from '../../src/market-data/universe.ts';

const instruments = buildUniverse(40, 11);
const END = Date.UTC(2026, 0, 12, 16); // Monday 11:00 New York: 90 minutes of Monday's session

function collect(opts: HistoryOptions): BarBatch[] {
  return [...generateHistory(opts)];
}

/** Every column's bytes as hex per batch: exact equality without per-element matcher cost. */
function fingerprint(batches: BarBatch[]): string[] {
  const hex = (a: Int32Array | Float64Array, n: number) => Buffer.from(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT).toString('hex');
  return batches.map((b) => [b.instrumentId, b.ts, b.open, b.high, b.low, b.close, b.volume].map((col) => hex(col, b.length)).join('|'));
}

function rows(batches: BarBatch[]) {
  const out: { id: number; ts: number; open: number; high: number; low: number; close: number; volume: number }[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      out.push({ id: b.instrumentId[i]!, ts: b.ts[i]!, open: b.open[i]!, high: b.high[i]!, low: b.low[i]!, close: b.close[i]!, volume: b.volume[i]! });
    }
  }
  return out;
}

describe('generateHistory', () => {
  const exchange = new MarketClock('exchange');
  const opts: HistoryOptions = { instruments, marketClock: exchange, days: 3, endMs: END, seed: 5, batchSize: 1_000 };

  it('is deterministic and yields batches of batchSize rows totalling historyRowCount', () => {
    const a = collect(opts);
    const b = collect(opts);
    expect(fingerprint(a)).toEqual(fingerprint(b));
    expect(fingerprint(collect({ ...opts, seed: 6 }))).not.toEqual(fingerprint(a));
    const total = historyRowCount(opts);
    expect(total).toBe(instruments.length * (90 + 390 + 390)); // Monday (partial), Friday, Thursday
    expect(a.reduce((n, batch) => n + batch.length, 0)).toBe(total);
    for (const batch of a.slice(0, -1)) expect(batch.length).toBe(1_000);
  });

  it('covers only session minutes of trading days, ending before endMs, skipping the weekend', () => {
    const all = rows(collect(opts));
    const days = new Set(all.map((r) => new Date(r.ts).toISOString().slice(0, 10)));
    expect([...days].sort()).toEqual(['2026-01-08', '2026-01-09', '2026-01-12']);
    const outside = all.filter((r) => !exchange.isOpen(r.ts) || r.ts % 60_000 !== 0 || r.ts + 60_000 > END);
    expect(outside).toEqual([]);
    const keys = new Set(all.map((r) => `${r.id}:${r.ts}`));
    expect(keys.size).toBe(all.length);
  });

  it('produces consistent bars on the tick grid that end at the base price and chain open to previous close', () => {
    const all = rows(collect(opts));
    const byInstrument = new Map<number, typeof all>();
    // One assertion over all rows: per-row expect() calls would dominate the run time.
    const bad = all.filter((r) => {
      const instrument = instruments[r.id - 1]!;
      const onGrid = [r.open, r.high, r.low, r.close].every((p) => p > 0 && p % instrument.tickSize === 0);
      return !(onGrid && r.high >= Math.max(r.open, r.close) && r.low <= Math.min(r.open, r.close) && r.volume > 0 && r.volume % instrument.lotSize === 0);
    });
    expect(bad).toEqual([]);
    for (const r of all) {
      const list = byInstrument.get(r.id) ?? [];
      list.push(r);
      byInstrument.set(r.id, list);
    }
    for (const [id, list] of byInstrument) {
      list.sort((a, b) => a.ts - b.ts);
      // The newest close is where the live feed starts: the base price.
      expect(list[list.length - 1]!.close).toBe(instruments[id - 1]!.basePrice);
      // Within a session, each bar opens at the previous close.
      const broken = list.filter((r, i) => i > 0 && r.ts - list[i - 1]!.ts === 60_000 && r.open !== list[i - 1]!.close);
      expect(broken).toEqual([]);
    }
  });

  it('has a U-shaped intraday volume profile', () => {
    const all = rows(collect({ ...opts, days: 2, endMs: Date.UTC(2026, 0, 10) }));
    const volumeAt = (hour: number, minute: number) =>
      all.filter((r) => new Date(r.ts).getUTCHours() === hour && new Date(r.ts).getUTCMinutes() === minute).reduce((s, r) => s + r.volume, 0);
    const open = volumeAt(14, 30);
    const midday = volumeAt(17, 45);
    const close = volumeAt(20, 59);
    expect(open).toBeGreaterThan(2 * midday);
    expect(close).toBeGreaterThan(1.5 * midday);
  });

  it('runs around the clock in always mode, weekends included', () => {
    const always = new MarketClock('always');
    const o: HistoryOptions = { instruments: instruments.slice(0, 3), marketClock: always, days: 2, endMs: Date.UTC(2026, 0, 11, 0, 10), seed: 1 };
    expect(historyRowCount(o)).toBe(3 * (10 + 1440));
    const all = rows(collect(o));
    expect(all).toHaveLength(3 * 1450);
    expect(Math.min(...all.map((r) => r.ts))).toBe(Date.UTC(2026, 0, 10));
  });

  it('yields nothing for zero days', () => {
    expect(collect({ ...opts, days: 0 })).toEqual([]);
    expect(historyRowCount({ ...opts, days: 0 })).toBe(0);
  });
});
