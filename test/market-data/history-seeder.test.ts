import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { hasNoHistory, seedHistory } from '../../src/market-data/history-seeder.ts';
import { historyRowCount, type HistoryOptions } from '../../src/market-data/history.ts';
import { InstrumentStore } from '../../src/market-data/instrument-store.ts';
import { MarketClock } from '../../src/market-data/market-clock.ts';
import { buildUniverse } from '../../src/market-data/universe.ts';
import { engines } from '../support/engines.ts';

const END = Date.UTC(2026, 0, 12, 16); // Monday 11:00 New York: 90 minutes of Monday's session

describe.each(await engines())('seedHistory on $name', (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let options: HistoryOptions;

  beforeAll(async () => {
    ({ db, cleanup } = await engine.open());
    await migrate(db);
    const store = new InstrumentStore(db);
    await store.insertMissing(buildUniverse(12, 3));
    options = { instruments: await store.loadAll(), marketClock: new MarketClock('exchange'), days: 3, endMs: END, seed: 9, batchSize: 500 };
  });
  afterAll(() => cleanup());

  const count = async (sql: string) => Number((await db.query<{ n: string | number }>(sql)).rows[0]!.n);

  it('loads every row, rolls finished days up, and replaces its window when run again', async () => {
    expect(await hasNoHistory(db)).toBe(true);
    const ticks: number[] = [];
    let announced = 0;
    const result = await seedHistory(db, options, { start: (total) => (announced = total), tick: (n) => ticks.push(n) });
    const expected = historyRowCount(options);
    expect(result.rows).toBe(expected);
    expect(announced).toBe(expected);
    expect(ticks.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(await count('SELECT count(*) AS n FROM bars_1m')).toBe(expected);
    // Monday is today (partial) and left to the live writer; Thursday and Friday are rolled up.
    expect(await count('SELECT count(*) AS n FROM bars_1d')).toBe(2 * options.instruments.length);
    expect(await hasNoHistory(db)).toBe(false);

    await seedHistory(db, options);
    expect(await count('SELECT count(*) AS n FROM bars_1m')).toBe(expected);
    expect(await count('SELECT count(*) AS n FROM bars_1d')).toBe(2 * options.instruments.length);
  });

  it('stops between batches when its signal aborts', async () => {
    const controller = new AbortController();
    let batches = 0;
    const run = seedHistory(db, options, { start: () => {}, tick: () => ++batches === 2 && controller.abort() }, controller.signal);
    await expect(run).rejects.toThrow();
    expect(batches).toBe(2);
  });
});
