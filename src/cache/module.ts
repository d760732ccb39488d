/**
 * The cache capability as the composition root sees it: the tiered cache, its event wiring, the
 * HTTP optimizations (installed before routes), the route-level cache helper for GET handlers,
 * and the admin and batch routes.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TachyonConfig } from '../config/config.ts';
import type { FeatureFlags } from '../config/flags.ts';
import type { Queryable } from '../db/database.ts';
import type { MessageBus } from '../kernel/bus.ts';
import { ComputedResults } from './computed-results.ts';
import { registerCacheFlags, registerHttpFlags, type HttpFlags } from './flags.ts';
import { cacheAdminRoutes } from './http/admin-routes.ts';
import { batchRoute } from '../http/optimizations/batch-route.ts';
import { installHttpOptimizations } from '../http/optimizations/http-optimizations.ts';
import { routeCache, type RouteCache } from './http/route-cache.ts';
import { wireInvalidation } from './invalidation.ts';
import { DATA_CLASSES, DEFAULT_POLICIES, type CachePolicies } from './policies.ts';
import { TieredCache, type SpanRunner } from './tiered-cache.ts';

export interface CacheModule {
  cache: TieredCache;
  routeCache: RouteCache;
  /** The HTTP optimizations' flags (read per request by the fast lane too). */
  httpFlags: HttpFlags;
  /** Compression and ETags: call on the root instance before any route is registered. */
  installHttp(app: FastifyInstance): Promise<void>;
  /** Admin cache routes and POST /api/batch. */
  routes(app: FastifyInstance): Promise<void>;
  close(): Promise<void>;
}

/** Expired rows of the database tier are dropped this often (reads already ignore them). */
const PURGE_EVERY_MS = 10 * 60_000;

export async function createCacheModule(deps: { config: TachyonConfig; flags: FeatureFlags; bus: MessageBus; db: Queryable; logger: Logger; span?: SpanRunner }): Promise<CacheModule> {
  const { config, flags, bus, db, logger, span } = deps;
  const computed = new ComputedResults(db);
  const cacheFlags = registerCacheFlags(flags);
  const httpFlags = registerHttpFlags(flags);
  const policies = Object.fromEntries(
    DATA_CLASSES.map((cls) => [cls, { ...DEFAULT_POLICIES[cls], eviction: config.cache.eviction[cls], ...(config.cache.ttlMs[cls] ? { ttlMs: config.cache.ttlMs[cls] } : {}) }]),
  ) as CachePolicies;
  const cache = await TieredCache.create({
    prefix: config.cache.prefix,
    l1MaxBytes: config.cache.l1MaxBytes,
    l1MaxEntries: config.cache.l1MaxEntries,
    redis: config.redisUrl ? { url: config.redisUrl, timeoutMs: config.cache.l2TimeoutMs, breakMs: config.cache.l2BreakMs } : undefined,
    compressAboveBytes: config.cache.compressAboveBytes,
    lockTtlMs: config.cache.lockTtlMs,
    writeBehindMs: config.cache.writeBehindMs,
    policies,
    flags: cacheFlags,
    logger,
    computed,
    span,
  });
  const unwire = wireInvalidation(bus, cache, logger);
  const purge = setInterval(() => {
    if (cacheFlags.dbTier()) computed.purgeExpired(Date.now()).catch((error: unknown) => logger.warn({ err: error }, 'cache database tier purge failed'));
  }, PURGE_EVERY_MS);
  purge.unref();
  return {
    cache,
    routeCache: routeCache(cache, httpFlags, config.cache.compressResponsesAboveBytes),
    httpFlags,
    installHttp: (app) => installHttpOptimizations(app, { flags: httpFlags, compressAboveBytes: config.cache.compressResponsesAboveBytes }),
    async routes(app) {
      await app.register(cacheAdminRoutes(cache));
      await app.register(batchRoute({ flags: httpFlags, maxRequests: config.cache.batchMaxRequests }));
    },
    async close() {
      clearInterval(purge);
      unwire();
      await cache.close();
    },
  };
}
