/**
 * One market across instances: the holder of the `feed` lease runs the simulated feed; every other
 * instance follows it over the bus bridge. The lease's TTL bounds how long the market stays silent
 * after its leader dies; the keeper's validity check stops a paused leader's feed on its own clock.
 */
import type { Logger } from 'pino';
import { LeaseKeeper } from '../cluster/lease-keeper.ts';
import type { LeaseStore } from '../cluster/leases.ts';
import type { MarketData } from './service.ts';

export const FEED_LEASE = 'feed';

export function feedLeadership(marketData: MarketData, store: LeaseStore, ttlMs: number, logger: Logger): LeaseKeeper {
  const keeper: LeaseKeeper = new LeaseKeeper({
    store,
    name: FEED_LEASE,
    ttlMs,
    logger,
    onAcquired: (lease) => marketData.lead(lease.epoch, () => keeper.held),
    onLost: () => marketData.follow(),
  });
  return keeper;
}
