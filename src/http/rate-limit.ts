/**
 * Per-client request rate limit (@fastify/rate-limit), keyed by the authenticated user so one
 * client cannot starve others; unauthenticated requests are keyed by address. Health and docs are
 * exempt (probes must never be throttled). The order-rate limit per account is the risk engine's.
 */
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { TooManyRequestsError } from '../kernel/errors.ts';

export async function installRateLimit(app: FastifyInstance, perSecond: number): Promise<void> {
  if (perSecond <= 0) return;
  await app.register(rateLimit, {
    max: perSecond,
    timeWindow: 1000,
    allowList: (request) => request.routeOptions.config.access === 'public',
    keyGenerator: (request) => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(`Rate limit of ${context.max} requests per second exceeded; retry in ${context.after}.`, { limit: context.max }),
  });
}
