/**
 * `tachyon seed [--days N]`: deterministic historical 1-minute bars for every instrument, streamed
 * in columnar batches into the partitioned bars table, then rolled up into daily bars
 * (history-seeder.ts). Without --days it loads what a first start loads (TACHYON_SEED_DAYS) and
 * says so. Beside a running embedded server it asks that server to load them (paced, in the
 * background) and follows its progress.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import type { Database } from '../db/database.ts';
import { BadRequestError } from '../kernel/errors.ts';
import type { HistoryStatus } from '../market-data/history-loader.ts';
import { seedHistory } from '../market-data/history-seeder.ts';
import type { HistoryOptions } from '../market-data/history.ts';
import { InstrumentStore } from '../market-data/instrument-store.ts';
import { MarketClock } from '../market-data/market-clock.ts';
import { buildUniverse } from '../market-data/universe.ts';
import { callServer, findLocalServer, type LocalServer } from './local-server.ts';
import { ProgressBar, compact } from './progress.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { days: { type: 'string' } } });
  const config = loadConfig();
  const days = values.days === undefined ? config.seedDays : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new BadRequestError(`--days must be an integer from 1 to 3650, not ${values.days ?? `${days} (TACHYON_SEED_DAYS)`}`);
  if (values.days === undefined) console.log(`seeding ${days} trading day${days === 1 ? '' : 's'}, as a first start does (TACHYON_SEED_DAYS); --days N for another window`);

  const server = findLocalServer(config);
  if (server) return seedThroughServer(server, days);
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

/** The running server loads the history (its data directory is locked); this follows /api/health/detailed. */
async function seedThroughServer(server: LocalServer, days: number): Promise<number> {
  console.log(`the server (pid ${server.pid}) holds the data directory: it loads the history in the background while serving`);
  await callServer(server, 'POST', '/api/admin/history', { days });
  const started = performance.now();
  let progress: ProgressBar | undefined;
  let shown = 0;
  for (;;) {
    const { history } = await callServer<{ history: HistoryStatus }>(server, 'GET', '/api/health/detailed');
    if (!progress && history.totalRows > 0) progress = new ProgressBar(history.totalRows, 'rows');
    progress?.tick(history.loadedRows - shown);
    shown = history.loadedRows;
    if (history.state !== 'loading') {
      progress?.finish();
      if (history.state !== 'loaded') {
        console.error(`tachyon seed: loading history ${history.state}${history.error ? `: ${history.error}` : ''}`);
        return 1;
      }
      console.log(`seeded ${compact(history.totalRows)} bars through the server in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    await sleep(500);
  }
}
