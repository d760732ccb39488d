/**
 * Per-client request rate limit (@fastify/rate-limit), keyed by the authenticated user so one
 * client cannot starve others; unauthenticated requests are keyed by address. Public routes (health,
 * docs) are exempt (probes must never be throttled): http/server.ts sets their `config.rateLimit` false. With REDIS_URL the counters live in Redis, so the limit
 * holds across instances behind a load balancer; while Redis is away requests are not limited
 * rather than refused (a limiter must not take the API down with it). The order-rate limit per
 * account is the risk engine's (shared through Redis too: trading/shared-order-rate.ts).
 */
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { TooManyRequestsError } from '../kernel/errors.ts';

/**
 * A connection for the limiter that never queues or waits long (a slow Redis costs a request at
 * most 100 ms); resolves once connected, or after a second with Redis away (it keeps retrying).
 */
export async function rateLimitRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 100, connectTimeout: 1_000, retryStrategy: (attempt) => Math.min(attempt * 200, 2_000) });
  redis.on('error', () => {});
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

/** `shared`: a Redis connection and the key prefix of the deployment whose instances share the limit. */
export async function installRateLimit(app: FastifyInstance, perSecond: number, shared?: { redis: Redis; prefix: string }): Promise<void> {
  if (perSecond <= 0) return;
  await app.register(rateLimit, {
    max: perSecond,
    timeWindow: 1000,
    ...(shared ? { redis: shared.redis, nameSpace: `${shared.prefix}:rate-limit:`, skipOnError: true } : {}),
    keyGenerator: (request) => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(`Rate limit of ${context.max} requests per second exceeded; retry in ${context.after}.`, { limit: context.max }),
  });
}
