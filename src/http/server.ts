/**
 * The Fastify instance: JSON schema validation (TypeBox), schema-driven serialization, problem+json
 * errors, access control, OpenAPI at /docs. Capabilities register their routes as plugins on it.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.ts';
import { installAccessControl } from './access.ts';
import { lazyChildLogger } from './lazy-child-logger.ts';
import { installProblemHandlers } from './problem.ts';
import { installRateLimit } from './rate-limit.ts';

export interface HttpServerOptions {
  logger: Logger;
  authenticator: Authenticator;
  bodyLimitBytes: number;
  /** Requests per second per user (0: unlimited). */
  rateLimitPerSecond: number;
  /** Shared counters for the rate limit (REDIS_URL): the limit then holds across instances. */
  rateLimitRedis?: { redis: Redis; prefix: string };
  trustProxy: boolean;
  version: string;
}

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
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
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });

  installProblemHandlers(app);
  // Docs routes are public; everything else is decided per route.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), access: 'public' };
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Tachyon API', version: options.version, description: 'Trading-platform API: market data, orders, portfolio, analytics, performance.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  installAccessControl(app, options.authenticator);
  await installRateLimit(app, options.rateLimitPerSecond, options.rateLimitRedis);
  return app;
}
