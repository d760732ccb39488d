/**
 * The Fastify instance: JSON schema validation (TypeBox), schema-driven serialization, problem+json
 * errors (the HTTP parser's and the router's too), security headers, load shedding, request
 * timeouts, access control, OpenAPI at /docs. Capabilities register their routes as plugins on it.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { RedisClient } from '../kernel/redis-client.ts';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.ts';
import { errorCodesDocument } from '../kernel/error-codes.ts';
import { installAccessControl, type InternalTickets } from './access.ts';
import { lazyChildLogger } from './lazy-child-logger.ts';
import { installLoadShedding, type SheddingOptions } from './load-shedding.ts';
import { clientErrorProblem, frameworkErrorProblem, installProblemHandlers } from './problem.ts';
import { installRateLimit } from './rate-limit.ts';
import { SecurityHeaders } from './security-headers.ts';
import { hardenRoute, storableKeyword } from './validation.ts';

export interface HttpServerOptions {
  logger: Logger;
  authenticator: Authenticator;
  /** Tickets of requests the platform injects into itself as a user (cache warming). */
  internalTickets?: InternalTickets;
  bodyLimitBytes: number;
  /** Requests per second per user (0: unlimited). */
  rateLimitPerSecond: number;
  /** Shared counters for the rate limit (REDIS_URL): the limit then holds across instances. */
  rateLimitRedis?: { redis: RedisClient; prefix: string };
  trustProxy: boolean;
  version: string;
  timeouts: {
    /** Whole request (headers and body): a body trickled slower than this is cut with 408. */
    requestMs: number;
    headersMs: number;
    /** No traffic either way on a connection (0: never). */
    idleMs: number;
  };
  shedding: SheddingOptions;
  /** The `http.compact-headers` flag: the compact security-header set on responses that are not documents. */
  compactHeaders: () => boolean;
}

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const securityHeaders = new SecurityHeaders(options.compactHeaders);
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request access logs cost throughput; slow and failed requests are logged by observability.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: options.timeouts.requestMs,
    connectionTimeout: options.timeouts.idleMs,
    http: {
      headersTimeout: Math.min(options.timeouts.headersMs, options.timeouts.requestMs),
      // Node checks the two timeouts above on this interval (30 s by default, so a 1 s limit could hold 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(5000, Math.floor(Math.min(options.timeouts.headersMs, options.timeouts.requestMs) / 4))),
    },
    clientErrorHandler: clientErrorProblem,
    frameworkErrors: (error, request, reply) => {
      securityHeaders.apply(request, reply);
      frameworkErrorProblem(error, request, reply);
    },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false }, plugins: [storableKeyword] },
  });

  installProblemHandlers(app);
  securityHeaders.install(app);
  // Before access control: shedding must cost less than the work it saves.
  installLoadShedding(app, options.shedding);
  // Every route's request schema gets the bounds the database needs (validation.ts), before swagger documents it.
  app.addHook('onRoute', hardenRoute);
  // Docs routes are public; everything else is decided per route.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), access: 'public' };
    // Public routes are not rate-limited (probes must never be throttled): decided here once per
    // route, before the limiter's own onRoute hook, rather than by reading the route per request.
    if (route.config?.access === 'public') route.config = { ...route.config, rateLimit: false };
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Tachyon API', version: options.version, description: 'Trading-platform API: market data, orders, portfolio, analytics, performance.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      // Every problem+json `code` with its status and message (src/kernel/error-codes.ts); an extension, which the typings do not name.
      ...{ 'x-error-codes': errorCodesDocument() },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  installAccessControl(app, options.authenticator, options.internalTickets);
  installRateLimit(app, options.rateLimitPerSecond, options.rateLimitRedis);
  return app;
}
