/**
 * `tachyon start`: validate configuration, build the platform, seed demo data (users, two days of
 * history) on first start, serve, and stop gracefully on SIGTERM/SIGINT: drain (readiness 503 for
 * TACHYON_DRAIN_DELAY_MS), then finish in-flight work within the configured grace period. The banner is
 * short (URLs, tokens, what is loading); the full configuration is `tachyon config` or the debug log.
 * Log lines and the seeding progress share one terminal writer.
 */
import { loadConfig, redactConfig } from '../config/config.ts';
import { createLogger } from '../kernel/logger.ts';
import { setMallocMmapThreshold } from '../kernel/malloc-tuning.ts';
import { hasNoHistory } from '../market-data/history-seeder.ts';
import { logCorrelation } from '../observability/log-context.ts';
import { buildPlatform, type Platform } from '../platform.ts';
import { VERSION } from '../version.ts';
import { publishLocalServer } from './local-server.ts';
import { ProgressBar } from './progress.ts';
import { Terminal } from './terminal.ts';

const LOOPBACK = /^(127\.|::1$|\[::1\]$|localhost$)/;

export async function run(): Promise<number> {
  const config = loadConfig();
  const terminal = new Terminal(process.stdout);
  const logger = createLogger(config.logLevel, terminal.logDestination(), logCorrelation);
  logger.debug({ config: redactConfig(config) }, 'configuration');
  const started = performance.now();
  // Process-wide, before the engine's threads allocate (kernel/malloc-tuning.ts). A memory saver only: a platform
  // where the FFI library has no build still serves, with glibc's default.
  if (config.mallocMmapThresholdBytes !== undefined) {
    try {
      if (await setMallocMmapThreshold(config.mallocMmapThresholdBytes)) logger.debug({ mmapThresholdBytes: config.mallocMmapThresholdBytes }, 'glibc malloc: mmap threshold fixed');
    } catch (error) {
      logger.warn({ err: error }, "glibc malloc: the mmap threshold could not be set; glibc's default stays (more resident memory)");
    }
  }
  const platform = await buildPlatform(config, { logger });
  // Signals are handled before the server answers: a supervisor that stops it as soon as its health check
  // passes gets a graceful stop, not the default action's kill (docs/testing.md, api/first-run).
  let unpublish = () => {};
  // Listening and publishing the local-server file: a stop waits for it, never closing a half-started server.
  let starting: Promise<unknown> = Promise.resolve();
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, config.http.drainDelayMs + config.http.shutdownTimeoutMs);
    deadline.unref();
    // Readiness turns 503 now; the server closes once the load balancer has had time to notice.
    const stopped = starting.catch(() => {}).then(() => {
      unpublish();
      return platform.stop({ drainMs: config.http.drainDelayMs });
    });
    stopped.then(
      () => {
        logger.info({ signal }, 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const loadHistory = config.seedDemo && config.seedDays > 0 && (await hasNoHistory(platform.db));
  const listening = (async () => {
    const address = await platform.listen();
    const base = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    unpublish = await publishLocalServer(config, platform.users, base);
    return base;
  })();
  starting = listening;
  const base = await listening;
  // Stopping already (a signal while it started): the shutdown takes it from here, nothing to announce.
  if (signals > 0) return -1;
  terminal.write(banner(platform, base, (performance.now() - started) / 1000, loadHistory));

  // History is loaded after listening so the API serves within seconds, paced so requests stay
  // fast; its window ends at the current minute, where the live feed and bar writer begin.
  if (loadHistory) void followHistory(platform, terminal, config.seedDays);
  return -1;
}

function banner(platform: Platform, base: string, seconds: number, loadHistory: boolean): string {
  const { config, demo } = platform;
  const engine = platform.db.kind === 'embedded' ? `embedded PostgreSQL in ${config.dataDir}` : 'PostgreSQL server';
  const lines = ['', `Tachyon ${VERSION} ready in ${seconds.toFixed(1)} s (${engine})`, `  API      ${base}/api   docs ${base}/docs`];
  if (demo) {
    if (!LOOPBACK.test(config.host)) {
      lines.push(`  WARNING  listening on ${config.host} (HOST): anyone who can reach this port can use the tokens below.`, '           Unset HOST (or HOST=127.0.0.1) to keep the demo on this machine.');
    }
    lines.push(`  Trader   ${demo.traderToken}`);
    lines.push(demo.adminToken ? `  Admin    ${demo.adminToken}` : '  Admin    token printed at first start (TACHYON_ADMIN_TOKEN sets one)');
  }
  if (loadHistory) {
    lines.push(`  Loading  ${plural(config.seedDays, 'day')} of 1-minute history for ${platform.marketData.instruments.length} instruments in the background (progress: /api/health/detailed)`);
  }
  lines.push('  Settings npm run tachyon -- config', '');
  return lines.join('\n') + '\n';
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The progress bar on a terminal; a log line every 10% elsewhere. */
async function followHistory(platform: Platform, terminal: Terminal, days: number): Promise<void> {
  let bar: ProgressBar | undefined;
  let decile = 0;
  let loaded = 0;
  let total = 0;
  try {
    await platform.marketData.history.load(days, {
      start(rows) {
        total = rows;
        if (terminal.isTTY) bar = new ProgressBar(rows, 'rows', terminal);
      },
      tick(rows) {
        loaded += rows;
        if (bar) return bar.tick(rows);
        const now = Math.floor((loaded / Math.max(1, total)) * 10);
        if (now > decile) platform.logger.info({ percent: (decile = now) * 10, rows: loaded }, 'loading history');
      },
    });
  } catch {
    // The loader logs a failure and keeps it in its status; a stop at shutdown is no failure.
  } finally {
    bar?.finish();
  }
}
