/**
 * The checks the platform itself contributes to the health registry: its lifecycle and database for
 * readiness; replicas, Redis and the task queue for the operator's dependency list.
 */
import type { QueueStats } from '../analysis/task-queue/port.ts';
import type { Database } from '../db/database.ts';
import type { StreamStats } from '../stream/event-stream.ts';
import type { HealthRegistry } from './registry.ts';
import { timeDb } from './routes.ts';

export interface CoreCheckDeps {
  db: Database;
  lifecycle(): 'starting' | 'serving' | 'draining';
  /** With REDIS_URL: whether the bus bridge is connected, the cache's L2 healthy, events dropped meanwhile, the event stream, and the rate limiters' connection ready. */
  redis?: () => { bridged: boolean; cacheL2: boolean | undefined; droppedEvents: number; stream: StreamStats; limiter: boolean };
  queue: { kind: 'bullmq' | 'in-process'; stats(): Promise<QueueStats> };
}

export function registerCoreChecks(health: HealthRegistry, deps: CoreCheckDeps): void {
  health.addReadiness('lifecycle', () => {
    const state = deps.lifecycle();
    return state === 'serving' ? { ok: true } : { ok: false, reason: state };
  });
  health.addReadiness('database', async () => {
    const result = await timeDb(deps.db);
    return result.ok ? { ok: true } : { ok: false, reason: `database unreachable: ${result.error}` };
  });
  const replicas = deps.db.replicas?.bind(deps.db);
  if (replicas && replicas().length > 0) health.addDependency({ name: 'database replicas', check: async () => ({ ok: replicas().every((r) => r.usable), latencyMs: 0, details: { replicas: replicas() } }) });
  const redis = deps.redis;
  if (redis) {
    health.addDependency({
      name: 'redis',
      check: async () => {
        const state = redis();
        const { stream } = state;
        return {
          ok: state.bridged && stream.connected,
          latencyMs: 0,
          details: {
            busBridge: state.bridged ? 'connected' : 'down (in-process bus only)',
            cacheL2: state.cacheL2 ? 'healthy' : 'bypassed',
            droppedEvents: state.droppedEvents,
            eventStream: stream.connected ? 'connected' : `down (${stream.buffered} account events buffered)`,
            streamDropped: stream.dropped,
            rateLimits: state.limiter ? 'shared across instances' : 'Redis away: request limit off, order rate per owner',
          },
        };
      },
    });
  }
  health.addDependency({
    name: 'task queue',
    check: async () => {
      const start = performance.now();
      const stats = await deps.queue.stats();
      return { ok: true, latencyMs: Math.round(performance.now() - start), details: { kind: deps.queue.kind, depth: stats.depth } };
    },
  });
}
