/**
 * `tachyon start`: validate configuration, build the platform, seed demo data (users, two days of
 * history) on first start, serve, and stop gracefully on SIGTERM/SIGINT: drain (readiness 503 for
 * TACHYON_DRAIN_DELAY_MS), then finish in-flight work within the configured grace period.
 */
import { loadConfig, redactConfig } from '../config/config.ts';
import { hasNoHistory } from '../market-data/history-seeder.ts';
import { buildPlatform } from '../platform.ts';
import { seedWithProgress } from './seed.ts';

export async function run(): Promise<number> {
  const config = loadConfig();
  console.log('tachyon configuration:', JSON.stringify(redactConfig(config), null, 2));
  const started = performance.now();
  const platform = await buildPlatform(config);
  const seedHistory = config.seedDemo && config.seedDays > 0 && (await hasNoHistory(platform.db));
  const address = await platform.listen();
  const base = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  const demo = platform.demo;
  const lines = [
    '',
    `Tachyon ${platform.db.kind === 'embedded' ? '(embedded PostgreSQL: PGlite, in-process cache and bus)' : '(PostgreSQL server)'} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    `  API        ${base}/api`,
    `  API docs   ${base}/docs`,
    `  Health     ${base}/api/health`,
    `  Instruments: ${platform.marketData.instruments.length}, feed ${config.market.tickRate} ticks/s, market hours: ${config.market.hours}`,
  ];
  if (demo) {
    lines.push(`  Demo trader token: ${demo.traderToken}`);
    if (demo.adminToken) lines.push(`  Admin token:       ${demo.adminToken}`);
    else lines.push('  Admin token: printed at first start (set TACHYON_ADMIN_TOKEN to choose one, or run `npm run tachyon -- users create --name ops --role admin`)');
    lines.push(`  Try: curl -H "Authorization: Bearer ${demo.traderToken}" ${base}/api/market-data/quotes/AAPL`);
  }
  if (seedHistory) lines.push(`  Seeding ${config.seedDays} days of 1-minute history in the background (first start only)…`);
  console.log(lines.join('\n') + '\n');

  // History is seeded after listening so the API serves within seconds; its window ends at the
  // current minute, where the live feed and bar writer begin.
  const seeding = new AbortController();
  const seeded = seedHistory
    ? seedWithProgress(
        platform.db,
        { instruments: platform.marketData.instruments, marketClock: platform.marketData.marketClock, days: config.seedDays, endMs: Math.floor(Date.now() / 60_000) * 60_000, seed: config.market.seed, batchSize: 10_000 },
        seeding.signal,
      ).catch((error: unknown) => {
        if (!seeding.signal.aborted) platform.logger.error({ err: error }, 'seeding history failed');
      })
    : Promise.resolve();

  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      platform.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    platform.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      platform.logger.error('graceful shutdown timed out');
      process.exit(1);
    }, config.http.drainDelayMs + config.http.shutdownTimeoutMs);
    deadline.unref();
    seeding.abort();
    // Readiness turns 503 now; the server closes once the load balancer has had time to notice.
    seeded.then(() => platform.stop({ drainMs: config.http.drainDelayMs })).then(
      () => {
        platform.logger.info({ signal }, 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        platform.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return -1;
}
