/**
 * Notices history loads by any process — `tachyon seed` against the same database, the first
 * start's background seeding — through the `history_loads` table (one row per finished load), and
 * publishes `history.loaded` so the cache drops answers built from the bars before it (an empty
 * range cached while a symbol had no history must not outlive the backfill).
 */
import type { Logger } from 'pino';
import type { MessageBus } from '../kernel/bus.ts';
import type { BarStore } from './bar-store.ts';

/** How often every server looks (one tiny query). */
const WATCH_EVERY_MS = 5_000;

export class HistoryWatch {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly bars: BarStore,
    private readonly bus: MessageBus,
    private readonly logger: Logger,
    private lastLoad: number,
  ) {}

  /** Starts from the newest load already made: only later ones are news. */
  static async create(bars: BarStore, bus: MessageBus, logger: Logger): Promise<HistoryWatch> {
    return new HistoryWatch(bars, bus, logger, await bars.lastLoad());
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check().catch((error: unknown) => this.logger.warn({ err: error }, 'history load check failed')), WATCH_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Publishes `history.loaded` when a load finished since the last check; resolves to whether one did. */
  async check(): Promise<boolean> {
    const last = await this.bars.lastLoad();
    if (last <= this.lastLoad) return false;
    this.lastLoad = last;
    // History was (back)filled: answers cached from the bars before it are stale.
    this.bus.publish('history.loaded', { loadId: last });
    return true;
  }
}
