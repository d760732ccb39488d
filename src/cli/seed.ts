/**
 * `tachyon seed --days N`: deterministic historical 1-minute bars for every instrument, streamed
 * in columnar batches into the partitioned bars table, then rolled up into daily bars.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { BarStore } from '../market-data/bar-store.ts';
import { generateHistory, historyRowCount, historyStart } from '../market-data/history.ts';
import { InstrumentStore } from '../market-data/instrument-store.ts';
import { MarketClock } from '../market-data/market-clock.ts';
import { buildUniverse } from '../market-data/universe.ts';
import { ProgressBar, compact } from './progress.ts';

const DAY_MS = 86_400_000;

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
    const bars = new BarStore(db);
    const options = { instruments, marketClock: new MarketClock(config.market.hours), days, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: config.market.seed };
    const total = historyRowCount(options);
    console.log(`seeding ${compact(total)} 1-minute bars: ${instruments.length} instruments × ${days} trading days (${db.kind})`);
    const progress = new ProgressBar(total, 'rows');
    const touched = new Set<number>();
    // History is deterministic: re-seeding replaces its window rather than duplicating it.
    await bars.deleteRange(historyStart(options), options.endMs);
    for (const batch of generateHistory(options)) {
      for (const day of await bars.bulkLoad(batch)) touched.add(day);
      progress.tick(batch.length);
    }
    const { elapsedSeconds, ratePerSecond } = progress.finish();
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const rollupStart = performance.now();
    await bars.rollUpDays([...touched].filter((d) => d < today));
    console.log(
      `seeded ${compact(total)} bars in ${elapsedSeconds.toFixed(1)} s (${compact(ratePerSecond)} rows/s); daily roll-up of ${touched.size} days in ${((performance.now() - rollupStart) / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
