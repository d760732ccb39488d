/**
 * Load shedding (@fastify/under-pressure): while the event loop lags or the heap nears its limit,
 * new requests answer 503 problem+json with Retry-After at once instead of queueing behind the
 * backlog, so the work already admitted finishes and latency recovers. Public routes (health
 * probes, docs, the metrics scrape) are never shed: an orchestrator must see the instance and
 * Prometheus must see the pressure. How the thresholds were chosen: docs/benchmarks.md.
 */
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import underPressure from '@fastify/under-pressure';
import { ServiceUnavailableError } from '../kernel/errors.ts';

export interface SheddingOptions {
  /** Mean event-loop delay over a sample (ms) past which requests are shed; 0: not checked. */
  eventLoopDelayMs: number;
  /** Heap in use, as a percentage of V8's heap limit, past which requests are shed; 0: not checked. */
  heapPercent: number;
  /** How often the event loop and heap are sampled. */
  sampleIntervalMs?: number;
}

const RETRY_AFTER_SECONDS = 2;

export async function installLoadShedding(app: FastifyInstance, options: SheddingOptions): Promise<void> {
  if (options.eventLoopDelayMs <= 0 && options.heapPercent <= 0) return;
  const sampleInterval = options.sampleIntervalMs ?? 1000;
  // Armed two samples after listening: the first sample would otherwise count start-up's own
  // stalls (migrations, opening the database) as pressure and shed the first requests served.
  let armed = false;
  app.addHook('onListen', (done) => {
    setTimeout(() => (armed = true), 2 * sampleInterval).unref();
    done();
  });
  await app.register(underPressure, {
    maxEventLoopDelay: options.eventLoopDelayMs,
    maxHeapUsedBytes: options.heapPercent > 0 ? Math.floor((getHeapStatistics().heap_size_limit * options.heapPercent) / 100) : 0,
    sampleInterval,
    // A rejected promise goes to the error handler as problem+json (with Retry-After); undefined lets the request through.
    pressureHandler: (request, _reply, type) =>
      !armed || request.routeOptions.config.access === 'public'
        ? undefined
        : Promise.reject(new ServiceUnavailableError('The server is overloaded; retry shortly.', { pressure: type }, RETRY_AFTER_SECONDS)),
  });
}
