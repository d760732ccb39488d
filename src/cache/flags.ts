/** One flag per cache and HTTP optimization, so each can be switched off for before/after runs. */
import type { FeatureFlags, FlagAccessor } from '../config/flags.ts';

export interface CacheFlags {
  enabled: () => boolean;
  l1FastPath: () => boolean;
  l2: () => boolean;
  compression: () => boolean;
  distributedLock: () => boolean;
  refreshAhead: () => boolean;
  dbTier: () => boolean;
}

/** Read per request with the caller's account, so a rollout by accounts (and its experiment) applies to them. */
export interface HttpFlags {
  compression: FlagAccessor;
  etag: FlagAccessor;
  cacheHeaders: FlagAccessor;
  coalesce: FlagAccessor;
  batch: FlagAccessor;
}

export function registerCacheFlags(flags: FeatureFlags): CacheFlags {
  return {
    enabled: flags.register({ name: 'cache.enabled', description: 'Reads of cacheable data go through the tiered cache (off: straight to the database)', default: true }),
    l1FastPath: flags.register({ name: 'cache.l1-fast-path', description: 'Fresh L1 entries are read synchronously, without BentoCache’s async path', default: true }),
    l2: flags.register({ name: 'cache.l2', description: 'Use Redis as the shared L2 (when REDIS_URL is set)', default: true }),
    compression: flags.register({ name: 'cache.compression', description: 'Deflate large L2 values', default: true }),
    distributedLock: flags.register({ name: 'cache.distributed-lock', description: 'One loader per key across instances (short Redis lock)', default: true }),
    refreshAhead: flags.register({ name: 'cache.refresh-ahead', description: 'Reload hot refresh-ahead keys before they expire', default: true }),
    // Off by default: every new bar then also deletes that symbol's open ranges from the table.
    dbTier: flags.register({ name: 'cache.db-tier', description: 'Keep expensive computed classes (strategy performance, bar roll-ups) in the database as a third tier', default: false }),
  };
}

export function registerHttpFlags(flags: FeatureFlags): HttpFlags {
  return {
    compression: flags.register({ name: 'http.compression', description: 'Brotli/gzip responses above the size threshold', default: true }),
    etag: flags.register({ name: 'http.etag', description: 'ETag on GET responses, If-None-Match answers 304', default: true }),
    cacheHeaders: flags.register({ name: 'http.cache-headers', description: 'Cache-Control, Cache-Status and Age per route', default: true }),
    coalesce: flags.register({ name: 'http.coalesce', description: 'Identical concurrent GETs share one execution', default: true }),
    batch: flags.register({ name: 'http.batch', description: 'POST /api/batch runs several GETs in one round trip', default: true }),
  };
}
