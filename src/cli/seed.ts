/**
 * `tachyon seed --days N`: deterministic historical 1-minute bars for every instrument, streamed
 * in columnar batches into the partitioned bars table, then rolled up into daily bars
 * (history-seeder.ts).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import type { Database } from '../db/database.ts';
import { seedHistory } from '../market-data/history-seeder.ts';
import type { HistoryOptions } from '../market-data/history.ts';
import { InstrumentStore } from '../market-data/instrument-store.ts';
import { MarketClock } from '../market-data/market-clock.ts';
import { buildUniverse } from '../market-data/universe.ts';
import { ProgressBar, compact } from './progress.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { days: { type: 'string', default: '5' } } });
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    console.error('--days must be an integer from 1 to 3650');
    return 2;
  }
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const store = new InstrumentStore(db);
    if ((await store.count()) < config.market.instruments) await store.insertMissing(buildUniverse(config.market.instruments, config.market.seed));
    const instruments = await store.loadAll();
    const options = { instruments, marketClock: new MarketClock(config.market.hours), days, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: config.market.seed };
    await seedWithProgress(db, options);
    return 0;
  } finally {
    await db.close();
  }
}

/** Seeds history with a progress bar on stderr and a summary line with the rate. */
export async function seedWithProgress(db: Database, options: HistoryOptions, signal?: AbortSignal): Promise<void> {
  let progress: ProgressBar | undefined;
  const started = performance.now();
  const { rows, days: rolledUp } = await seedHistory(db, options, {
    start(total) {
      console.log(`seeding ${compact(total)} 1-minute bars: ${options.instruments.length} instruments × ${options.days} trading days (${db.kind})`);
      progress = new ProgressBar(total, 'rows');
    },
    tick: (n) => progress?.tick(n),
  }, signal);
  const { ratePerSecond } = progress!.finish();
  console.log(`seeded ${compact(rows)} bars at ${compact(ratePerSecond)} rows/s, with the daily roll-up of ${rolledUp} days, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
