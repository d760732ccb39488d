/** Latest quotes survive a restart: the snapshot (written in chunks) covers every changed symbol. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { MessageBus } from '../../src/kernel/bus.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { MarketData } from '../../src/market-data/service.ts';
import { pglite } from '../support/engines.ts';

describe('quote snapshots', () => {
  it('restores every changed quote after a restart, beyond one snapshot chunk', async () => {
    const { db, cleanup } = await pglite.open();
    try {
      await migrate(db);
      const deps = { db, bus: new MessageBus(), clock: new ManualClock(Date.UTC(2026, 10, 23)), logger: pino({ level: 'silent' }), market: { ...testConfig().market, instruments: 600 } };
      const first = await MarketData.create(deps);
      for (const { id } of first.instruments) first.book.update(id, 10_000 + id, 10_100 + id, 10_050 + id, 1, 1_000 + id);
      await first.stop(); // writes the final snapshot
      const second = await MarketData.create(deps);
      const restored = second.instruments.map(({ id }) => second.book.get(id)!.last);
      expect(restored).toEqual(first.instruments.map(({ id }) => 10_050 + id));
    } finally {
      await cleanup();
    }
  });
});
