import { describe, expect, it } from 'vitest';
import { QuoteBook } from '../../src/market-data/quote-book.ts';
import { buildUniverse } from '../../src/market-data/universe.ts';

describe('QuoteBook', () => {
  const instruments = buildUniverse(50, 1);

  it('starts every symbol with a quote around its base price', () => {
    const book = new QuoteBook(instruments);
    expect(book.size).toBe(50);
    expect(book.seq).toBe(0);
    for (const i of instruments) {
      const q = book.get(i.id)!;
      expect(q.symbol).toBe(i.symbol);
      expect(q.last).toBe(i.basePrice);
      expect(q.bid).toBeLessThan(q.ask);
      expect(q.volume).toBe(0);
      expect(book.last(i.id)).toBe(i.basePrice);
    }
    expect(book.changedSince(0)).toEqual([]);
  });

  it('applies updates, accumulates daily volume and resolves symbols', () => {
    const book = new QuoteBook(instruments);
    const day = Date.UTC(2026, 0, 5, 15);
    const id = book.idOf('MSFT')!;
    expect(id).toBe(2);
    book.update(id, 4_149_900, 4_150_100, 4_150_000, 100, day);
    book.update(id, 4_150_000, 4_150_200, 4_150_200, 50, day + 1_000, 300, 400);
    expect(book.getBySymbol('MSFT')).toEqual({
      symbol: 'MSFT', bid: 4_150_000, ask: 4_150_200, last: 4_150_200, bidSize: 300, askSize: 400, volume: 150, ts: day + 1_000, seq: 2,
    });
    expect(book.last(id)).toBe(4_150_200);
    // A new UTC day starts a new volume count.
    book.update(id, 4_150_000, 4_150_200, 4_150_100, 70, day + 86_400_000);
    expect(book.get(id)!.volume).toBe(70);
    expect(book.idOf('NOPE')).toBeUndefined();
    expect(book.getBySymbol('NOPE')).toBeUndefined();
    expect(book.get(0)).toBeUndefined();
    expect(book.get(51)).toBeUndefined();
    expect(() => book.last(51)).toThrow(RangeError);
    expect(() => book.update(0, 1, 2, 1, 1, day)).toThrow(RangeError);
  });

  it('reports ids changed after a sequence number, for batched persistence', () => {
    const book = new QuoteBook(instruments);
    const ts = Date.UTC(2026, 0, 5, 15);
    book.update(5, 100, 200, 150, 1, ts);
    book.update(3, 100, 200, 150, 1, ts);
    const mark = book.seq;
    expect(mark).toBe(2);
    expect(book.changedSince(0)).toEqual([3, 5]);
    book.update(7, 100, 200, 150, 1, ts);
    book.update(3, 100, 200, 160, 1, ts);
    expect(book.changedSince(mark)).toEqual([3, 7]);
    expect(book.changedSince(book.seq)).toEqual([]);
  });

  it('restores snapshots without marking them changed', () => {
    const book = new QuoteBook(instruments, 1_000);
    book.restore(4, 900, 1_100, 1_000, 5_000, 2_000);
    expect(book.get(4)).toMatchObject({ bid: 900, ask: 1_100, last: 1_000, volume: 5_000, ts: 2_000, seq: 0 });
    expect(book.changedSince(0)).toEqual([]);
    expect(book.get(5)!.ts).toBe(1_000);
  });

  it('rejects ids that are not dense', () => {
    const [a, b] = instruments;
    expect(() => new QuoteBook([a!, { ...b!, id: 5 }])).toThrow(RangeError);
    expect(() => new QuoteBook([a!, { ...b!, symbol: a!.symbol }])).toThrow(RangeError);
  });
});
