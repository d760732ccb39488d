/**
 * Health endpoints for load balancers and Kubernetes: /api/health is liveness (no dependency
 * touched, cheap), /api/health/ready is readiness (every registered check: started, not draining,
 * database reachable, …; 503 otherwise, so a load balancer stops sending traffic), /api/health/db
 * a database round trip with its latency, /api/health/detailed the operator's view (admin).
 */
import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Database } from '../db/database.ts';
import type { HealthRegistry } from './registry.ts';

export interface HealthDeps {
  db: Database;
  version: string;
  instanceId: string;
  startedAt: number;
  /** Readiness checks and further dependencies (Redis, queue, feed, leases) registered by their owners. */
  registry: HealthRegistry;
  isShuttingDown(): boolean;
  /** Background history loading: state and percent done (first start's seeding). */
  history?(): unknown;
}

export async function timeDb(db: Database): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const start = performance.now();
  try {
    await db.query('SELECT 1');
    return { ok: true, latencyMs: round(performance.now() - start) };
  } catch (error) {
    return { ok: false, latencyMs: round(performance.now() - start), error: (error as Error).message };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A probe that answers 503 says when to look again, like every other 503. */
const RETRY_AFTER_SECONDS = '2';

export function healthRoutes(deps: HealthDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    app.addHook('onClose', async () => loopDelay.disable());

    app.get('/api/health', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness: the process serves requests' } }, async (_request, reply) => {
      if (deps.isShuttingDown()) return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'shutting_down' });
      return { status: 'ok' };
    });

    app.get('/api/health/ready', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Readiness: 503 while starting, draining, without its database, or failing any registered check' } }, async (_request, reply) => {
      const report = await deps.registry.ready();
      reply.header('cache-control', 'no-store');
      if (!report.ready) reply.code(503).header('retry-after', RETRY_AFTER_SECONDS);
      return { status: report.ready ? 'ready' : 'not_ready', instance: deps.instanceId, checks: report.checks };
    });

    app.get('/api/health/db', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Readiness: a database round trip and its latency' } }, async (_request, reply) => {
      const result = await timeDb(deps.db);
      if (!result.ok || deps.isShuttingDown()) reply.code(503).header('retry-after', RETRY_AFTER_SECONDS);
      return { status: result.ok ? 'ok' : 'down', engine: deps.db.kind, latencyMs: result.latencyMs, ...(result.error ? { error: result.error } : {}) };
    });

    app.get('/api/health/detailed', { config: { access: 'admin' }, schema: { tags: ['health'], summary: 'Every dependency with latency, version, uptime, memory, event-loop delay, pool usage (admin)' } }, async (_request, reply) => {
      const [database, others] = await Promise.all([
        timeDb(deps.db).then((r) => ({ name: 'database', ...r, details: { engine: deps.db.kind } })),
        deps.registry.dependencyReport(),
      ]);
      const dependencies = [database, ...others];
      const ok = dependencies.every((d) => d.ok);
      if (!ok) reply.code(503).header('retry-after', RETRY_AFTER_SECONDS);
      const memory = process.memoryUsage();
      return {
        status: ok ? 'ok' : 'degraded',
        version: deps.version,
        instance: deps.instanceId,
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
        dependencies,
        memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, externalBytes: memory.external },
        eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        pool: deps.db.stats(),
        ...(deps.history ? { history: deps.history() } : {}),
      };
    });
  };
}
