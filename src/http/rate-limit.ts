/**
 * Per-client request rate limit: fixed one-second windows keyed by the authenticated user, so one
 * client cannot starve others; unauthenticated requests are keyed by address. Past the limit the
 * answer is 429 problem+json with Retry-After. From the second half of a window's budget on, and on
 * every 429, answers carry `x-ratelimit-limit`, `-remaining` and `-reset` (seconds): a client far
 * below its limit needs no countdown, and three headers on every answer cost the cached read more
 * than the check itself (docs/benchmarks.md, "Limiter and shedding cost"). Public routes (health,
 * docs) are exempt (probes must never be throttled): http/server.ts sets their `config.rateLimit`
 * false, and the check is added only to the other routes, when they are added. With REDIS_URL the
 * counters live in Redis, so the limit holds across instances behind a load balancer; while Redis is
 * away requests are not limited rather than refused (a limiter must not take the API down with it).
 * The order-rate limit per account is the risk engine's (shared through Redis too:
 * trading/shared-order-rate.ts).
 *
 * Why not @fastify/rate-limit (used until session 6, same semantics and headers): its check is an
 * async route hook awaiting an async function that awaits the key, the store and a new promise,
 * and reads `request.routeOptions` (a getter building a 12-field object) for every request; that
 * was most of the limiter's cost on a cached read (docs/benchmarks.md, "Cached read hot path").
 * Here the in-process check is synchronous (one Map lookup on the user id, no key string) and only
 * the Redis one is asynchronous.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { FixedWindows, type WindowCount } from '../kernel/fixed-windows.ts';
import { createRedisClient, type RedisClient } from '../kernel/redis-client.ts';
import { TooManyRequestsError } from '../kernel/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this route is not rate-limited (public routes; see http/server.ts). */
    rateLimit?: false;
  }
  interface FastifyInstance {
    /**
     * The request limit as the fast lane (fast-lane.ts) applies it: the in-process counters, `shared`
     * (counted in Redis: the lane leaves every request to the route's check), or undefined (no limit).
     */
    requestRateLimit: LocalRateLimit | 'shared' | undefined;
  }
}

const WINDOW_MS = 1000;
/** Users, and separately addresses, tracked at once by the in-process counters (the oldest window is dropped past it). */
const MAX_CLIENTS = 5000;

/**
 * Counts a hit in Redis and returns [count, ms left in the window]: the window starts with the
 * first hit (as the in-process one does), and a counter without an expiry (whatever left it) gets
 * one, so no key can limit a client for good. One round trip; EVALSHA through ioredis's defineCommand.
 */
const REDIS_HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type RedisWithHit = RedisClient & { tachyonRateHit(key: string, windowMs: number): Promise<[number, number]> };

/**
 * A connection for the limiter that never queues or waits long (a slow Redis costs a request at
 * most 100 ms); resolves once connected, or after a second with Redis away (it keeps retrying).
 */
export async function rateLimitRedis(url: string): Promise<RedisClient> {
  const redis = createRedisClient(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 100, connectTimeout: 1_000, retryStrategy: (attempt) => Math.min(attempt * 200, 2_000) });
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

/** The Redis counter's key of a request (the in-process counters key users by id and addresses apart). */
const keyOf = (request: FastifyRequest): string => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`);

/** The in-process counters: the route hook's and the fast lane's, so both count against one limit. */
export class LocalRateLimit {
  private readonly users = new FixedWindows<number>(WINDOW_MS, MAX_CLIENTS);
  private readonly addresses = new FixedWindows(WINDOW_MS, MAX_CLIENTS);

  constructor(readonly max: number) {}

  /** Counts `request` against its user's window, or its address's before authentication. */
  hit(request: FastifyRequest, now: number): WindowCount {
    const principal = request.principal;
    return principal ? this.users.hit(principal.userId, now) : this.addresses.hit(request.ip, now);
  }

  /** Counts a user's request only if it is within the limit; undefined otherwise (uncounted: the route's check counts it and answers 429). */
  hitUserWithin(userId: number, now: number): WindowCount | undefined {
    return this.users.hitBelow(userId, now, this.max);
  }
}

/** Whether an answer within the limit carries the limit headers: once half the window's budget is used. */
export const showsLimit = (max: number, count: number): boolean => count * 2 > max;

type LimitHeaders = ['x-ratelimit-limit', number, 'x-ratelimit-remaining', number, 'x-ratelimit-reset', number];

/** The limit headers as name/value pairs (reset in seconds); `count` includes this request, `msLeft` is what remains of its window. */
export function limitHeaders(max: number, count: number, msLeft: number): LimitHeaders {
  return ['x-ratelimit-limit', max, 'x-ratelimit-remaining', Math.max(0, max - count), 'x-ratelimit-reset', Math.max(0, Math.ceil(msLeft / 1000))];
}

/** Sets the limit headers when they are due and answers whether the request may go on (an error past the limit). */
function verdict(reply: FastifyReply, max: number, count: number, msLeft: number): TooManyRequestsError | undefined {
  if (count <= max && !showsLimit(max, count)) return undefined;
  const headers = limitHeaders(max, count, msLeft);
  reply.header(headers[0], headers[1]).header(headers[2], headers[3]).header(headers[4], headers[5]);
  if (count <= max) return undefined;
  const resetSeconds = headers[5];
  return new TooManyRequestsError(`Rate limit of ${max} requests per second exceeded; retry in ${resetSeconds} s.`, { limit: max }, resetSeconds);
}

function localCheck(limit: LocalRateLimit): onRequestHookHandler {
  return (request, reply, done) => {
    const now = Date.now();
    const window = limit.hit(request, now);
    done(verdict(reply, limit.max, window.count, window.endsAt - now));
  };
}

function sharedCheck(max: number, redis: RedisClient, prefix: string): onRequestHookHandler {
  const shared = redis as RedisWithHit;
  if (typeof shared.tachyonRateHit !== 'function') redis.defineCommand('tachyonRateHit', { numberOfKeys: 1, lua: REDIS_HIT });
  const namespace = `${prefix}:rate-limit:`;
  return (request, reply, done) => {
    shared.tachyonRateHit(namespace + keyOf(request), WINDOW_MS).then(
      ([count, msLeft]) => done(verdict(reply, max, count, msLeft)),
      // Redis away or slow: not limited (as @fastify/rate-limit's skipOnError did).
      () => done(),
    );
  };
}

/** Adds `check` to a route's own onRequest hooks (after the global ones: access control has run). */
function addRouteHook(route: RouteOptions, check: onRequestHookHandler): void {
  const hooks = route.onRequest;
  route.onRequest = Array.isArray(hooks) ? [...hooks, check] : hooks ? [hooks, check] : [check];
}

/** `shared`: a Redis connection and the key prefix of the deployment whose instances share the limit. */
export function installRateLimit(app: FastifyInstance, perSecond: number, shared?: { redis: RedisClient; prefix: string }): void {
  if (perSecond <= 0) return void app.decorate('requestRateLimit', undefined);
  let check: onRequestHookHandler;
  if (shared) {
    app.decorate('requestRateLimit', 'shared');
    check = sharedCheck(perSecond, shared.redis, shared.prefix);
  } else {
    const local = new LocalRateLimit(perSecond);
    app.decorate('requestRateLimit', local);
    check = localCheck(local);
  }
  app.addHook('onRoute', (route) => {
    if (route.config?.rateLimit !== false) addRouteHook(route, check);
  });
}
