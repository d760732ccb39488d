/**
 * The performance API (admin) and the Prometheus scrape endpoint. Every answer names the instance
 * it describes: in scaled mode each instance reports itself and the load balancer decides which one
 * answers, so dashboards aggregate from Prometheus, not from this API.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Database } from '../db/database.ts';
import { ForbiddenError, NotFoundError } from '../kernel/errors.ts';
import type { Observability } from './observability.ts';
import { WINDOWS } from './windows.ts';

export interface PerformanceRouteDeps {
  observability: Observability;
  authenticator: Authenticator;
  db: Database;
  metricsToken: string | undefined;
  /** Top statements by total time from every source (the database advisor). */
  statements: () => Promise<object>;
}

const admin = { access: 'admin' } as const;
/** `/performance/*` is the name the product brief uses; `/api/performance/*` matches the rest of the API. */
export const PERFORMANCE_PREFIXES = ['/api/performance', '/performance'] as const;
const tags = ['performance'];

export function performanceRoutes(deps: PerformanceRouteDeps) {
  const { observability: o } = deps;
  // Compared as SHA-256 digests with timingSafeEqual: equal lengths always, and no early exit that
  // would let response timing reveal how much of a guessed token is right.
  const metricsDigest = deps.metricsToken ? digest(`Bearer ${deps.metricsToken}`) : undefined;

  /** Prometheus sends a static bearer token: the configured METRICS_TOKEN or an admin's API token. */
  async function authorizeScrape(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (metricsDigest && header !== undefined && timingSafeEqual(digest(header), metricsDigest)) return;
    const principal = await deps.authenticator.authenticate(header, request.ip);
    if (principal.role !== 'admin') throw new ForbiddenError('/metrics needs METRICS_TOKEN or an admin token.');
  }

  /** The admin API, registered under each of PERFORMANCE_PREFIXES. */
  async function performanceApi(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get('/metrics', { config: admin, schema: { tags, summary: 'HTTP p50/p95/p99/max, request and error rates over 1, 5 and 15 minutes, overall and per route' } }, async () => ({
      instance: o.instance,
      http: o.http.overall.all(),
      routes: o.http.routes(WINDOWS['5m']).slice(0, 50),
      taskQueue: (await o.metrics.stats('task_queue')) ?? null,
    }));

    app.get('/metrics/cpu', { config: admin, schema: { tags, summary: 'CPU and event-loop utilization over 1, 5 and 15 minutes' } }, async () => {
      const usage = process.cpuUsage();
      return {
        instance: o.instance,
        cores: o.runtime.cores,
        utilization: Object.fromEntries(Object.entries(WINDOWS).map(([name, ms]) => [name, o.runtime.utilization(ms) ?? null])),
        cpuSeconds: { user: usage.user / 1e6, system: usage.system / 1e6 },
      };
    });

    app.get('/metrics/memory', { config: admin, schema: { tags, summary: 'Heap, external, RSS against the instance budget, GC counts and time by kind' } }, async () => ({
      instance: o.instance,
      ...(await o.runtime.memory()),
    }));

    app.get('/metrics/network', { config: admin, schema: { tags, summary: 'Connections, bytes, HTTP and WebSocket rates' } }, async () => ({
      instance: o.instance,
      ...o.network.stats(),
      http: Object.fromEntries(Object.entries(o.http.overall.all()).map(([name, s]) => [name, { ratePerSecond: s.ratePerSecond, errorRatio: s.errorRatio }])),
      websocket: (await o.metrics.stats('websocket')) ?? null,
    }));

    app.get('/metrics/database', { config: admin, schema: { tags, summary: 'Query percentiles over 1, 5 and 15 minutes, slowest statements, pool' } }, async () => ({
      instance: o.instance,
      engine: deps.db.kind,
      queries: o.database.window.all(),
      slowestStatements: o.database.slowest(),
      topStatements: await deps.statements(),
      pool: deps.db.stats(),
    }));

    app.get('/traces', { config: admin, schema: { tags, summary: 'Slowest recent traces kept in memory (when no OTLP endpoint is configured)' } }, async () => ({
      instance: o.instance,
      exporter: o.tracing.exporter,
      traces: o.tracing.slowest?.traces() ?? [],
    }));

    app.get('/alerts', { config: admin, schema: { tags, summary: 'Active alerts (pending, firing), transition history and the rules' } }, async () => ({
      instance: o.instance,
      active: o.alerts.activeAlerts(),
      history: o.alerts.history(),
      rules: o.alerts.rulesView(),
    }));

    const faults = o.faults;
    if (!faults) return;
    const RouteClass = Type.Object({ routeClass: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' }) });

    app.get('/faults', { config: admin, schema: { tags, summary: 'Injected faults in force' } }, async () => ({ faults: faults.list() }));

    app.put(
      '/faults/:routeClass',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Inject latency and/or errors on a route class (first path segment after /api)',
          params: RouteClass,
          body: Type.Object(
            { latencyMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }), errorRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const fault = { routeClass: request.params.routeClass, ...request.body };
        faults.set(fault);
        return fault;
      },
    );

    app.delete('/faults/:routeClass', { config: admin, schema: { tags, summary: 'Remove the fault on a route class', params: RouteClass } }, async (request, reply) => {
      if (!faults.list().some((f) => f.routeClass === request.params.routeClass)) throw new NotFoundError(`no fault on ${request.params.routeClass}`);
      faults.clear(request.params.routeClass);
      return reply.code(204).send();
    });
  }

  return async function plugin(fastify: FastifyInstance): Promise<void> {
    fastify.get('/metrics', { config: { access: 'public' }, schema: { tags, summary: 'Prometheus metrics (bearer METRICS_TOKEN or admin token; or the unauthenticated METRICS_PORT)' } }, async (request, reply) => {
      await authorizeScrape(request);
      return reply.type(o.metrics.contentType).send(await o.metrics.text());
    });

    for (const prefix of PERFORMANCE_PREFIXES) await fastify.register(performanceApi, { prefix });
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
