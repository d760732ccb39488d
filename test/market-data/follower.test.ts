/** A follower's book: the feed leader's ticks, bridged, applied exactly as local ones; none of its own. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { MessageBus } from '../../src/kernel/bus.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import type { Tick } from '../../src/market-data/feed.ts';
import { MarketData } from '../../src/market-data/service.ts';
import { pglite } from '../support/engines.ts';

describe('MarketData as a follower and as a leader', () => {
  it('a follower applies bridged ticks to its book before other subscribers see them; a leader ignores them', async () => {
    const { db, cleanup } = await pglite.open();
    try {
      await migrate(db);
      const bus = new MessageBus();
      const clock = new ManualClock(Date.UTC(2026, 10, 23, 15));
      const market = await MarketData.create({ db, bus, clock, logger: pino({ level: 'silent' }), market: { ...testConfig().market, instruments: 50 } });
      const { id, symbol } = market.instruments[3]!;
      const seen: number[] = [];
      // Subscribed like the paper broker and the gateway (a prefix, after MarketData).
      bus.subscribe('quote.*', () => seen.push(market.book.get(id)!.last));
      const tick = (last: number): Tick => ({ id: 999, symbol, bid: last - 1, ask: last + 1, last, size: 7, ts: clock.now(), bidSize: 300, askSize: 400 });

      expect(market.status()).toEqual({ role: 'follower', epoch: undefined, lastTickAgeMs: undefined });
      bus.deliver(`quote.${symbol}`, tick(12_345));
      expect(market.book.get(id)).toMatchObject({ bid: 12_344, ask: 12_346, last: 12_345, bidSize: 300, askSize: 400, ts: clock.now() });
      expect(seen).toEqual([12_345]);
      clock.advance(250);
      expect(market.status().lastTickAgeMs).toBe(250);

      market.lead(7, () => false); // a lapsed lease: the feed generates nothing
      expect(market.status()).toMatchObject({ role: 'leader', epoch: 7 });
      bus.deliver(`quote.${symbol}`, tick(99_999));
      expect(market.book.get(id)!.last).toBe(12_345);
      await market.follow();
      expect(market.status().role).toBe('follower');
      expect(market.feed.ticksGenerated).toBe(0);
      await market.stop();
    } finally {
      await cleanup();
    }
  });
});
