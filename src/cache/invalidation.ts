/**
 * Event-driven invalidation: bus topics name what changed, this maps them to the cache entries
 * that depend on it, in the one class whose routes read them. Only the instance where the event
 * happened invalidates: the cache's own bus (BentoCache over Redis) then tells every other
 * instance's L1, and L2 and the database tier are shared. A copy of the event arriving through the
 * bus bridge is not invalidated again (that would publish the same invalidation once per instance).
 * Strategy performance is written through instead (src/analysis/http/performance-cache.ts).
 */
import type { Logger } from 'pino';
import type { MessageBus } from '../kernel/bus.ts';
import type { TieredCache } from './tiered-cache.ts';

/** Tags the readers attach, in one place so writers and readers agree. */
export const tags = {
  account: (accountId: number | string) => `account:${accountId}`,
  /** Bars ranges that are still open (they end after the last closed minute). */
  openBars: (symbol: string) => `bars-open:${symbol}`,
  strategy: (strategyId: number | string) => `strategy:${strategyId}`,
};

export function wireInvalidation(bus: MessageBus, cache: TieredCache, logger: Logger): () => void {
  const run = (what: Promise<void>, topic: string) => void what.catch((error: unknown) => logger.error({ err: error, topic }, 'cache invalidation failed'));
  // Symbols may contain dots (BRK.B): the subject is everything after the topic's prefix.
  const on = (prefix: 'bar.1m.', invalidate: (subject: string) => Promise<void>) =>
    bus.subscribe(`${prefix}*`, (_message, topic, remote) => {
      if (!remote) run(invalidate(topic.slice(prefix.length)), topic);
    });
  // No route reads the `portfolio` class (portfolio reads come from the trading engine): fills and
  // portfolio events invalidate nothing.
  const unsubscribe = [
    // A new minute bar changes only ranges that reach it (closed ranges stay) and the symbol's forecasts.
    on('bar.1m.', (symbol) => cache.invalidateTag(tags.openBars(symbol), ['historicalBars', 'predictions'])),
    // Backfilled history changes closed ranges too (an empty one above all) and every figure computed from bars.
    bus.subscribe('history.loaded', (_message, topic) =>
      run(Promise.all((['historicalBars', 'predictions', 'strategyPerformance'] as const).map((cls) => cache.invalidateClass(cls))).then(() => {}), topic),
    ),
  ];
  return () => unsubscribe.forEach((u) => u());
}
