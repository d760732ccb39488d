/**
 * Load shedding: while the event loop lags or the heap nears its limit, new requests answer 503
 * problem+json with Retry-After at once instead of queueing behind the backlog, so the work already
 * admitted finishes and latency recovers. Public routes (health probes, docs, the metrics scrape)
 * are never shed: an orchestrator must see the instance and Prometheus must see the pressure. How
 * the thresholds were chosen: docs/benchmarks.md.
 *
 * The pressure is sampled on a timer (the mean of `monitorEventLoopDelay` over the interval, less
 * its resolution, and the heap in use: what @fastify/under-pressure measures) and the per-request
 * check reads one variable. @fastify/under-pressure itself is not used: its hook reads
 * `request.routeOptions` on every request, a getter that builds a 12-field object (about 1 µs on
 * these machines, for every request, under pressure or not).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { ServiceUnavailableError } from '../kernel/errors.ts';

export interface SheddingOptions {
  /** Mean event-loop delay over a sample (ms) past which requests are shed; 0: not checked. */
  eventLoopDelayMs: number;
  /** Heap in use, as a percentage of V8's heap limit, past which requests are shed; 0: not checked. */
  heapPercent: number;
  /** How often the event loop and heap are sampled. */
  sampleIntervalMs?: number;
}

export type Pressure = 'eventLoopDelay' | 'heapUsedBytes';

/** What the last sample saw (`app.loadShedding`, for diagnostics and tests). */
export interface LoadShedding {
  /** The pressure requests are being shed for, if any (also before shedding is armed). */
  pressure(): Pressure | undefined;
  /** Mean event-loop delay of the last sample, ms. */
  eventLoopDelayMs(): number;
  /** Samples taken so far. */
  samples(): number;
  /** The pressure requests are being shed for now (armed), if any: what the per-request check reads. */
  shedding(): Pressure | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    loadShedding: LoadShedding;
  }
}

const RETRY_AFTER_SECONDS = 2;
/** The monitor's resolution (ms): its mean never falls below it, so it is subtracted. */
const RESOLUTION_MS = 10;

export function installLoadShedding(app: FastifyInstance, options: SheddingOptions): void {
  if (options.eventLoopDelayMs <= 0 && options.heapPercent <= 0) return;
  const sampleInterval = options.sampleIntervalMs ?? 1000;
  const maxHeapUsed = options.heapPercent > 0 ? Math.floor((getHeapStatistics().heap_size_limit * options.heapPercent) / 100) : 0;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let eventLoopDelay = 0;
  let samples = 0;
  let pressure: Pressure | undefined;
  // Armed two samples after listening: the first sample would otherwise count start-up's own
  // stalls (migrations, opening the database) as pressure and shed the first requests served.
  let armed = false;
  let shedding: Pressure | undefined;

  const sample = () => {
    const mean = histogram.mean / 1e6;
    eventLoopDelay = Number.isNaN(mean) ? Infinity : Math.max(0, mean - RESOLUTION_MS);
    histogram.reset();
    samples++;
    pressure =
      options.eventLoopDelayMs > 0 && eventLoopDelay > options.eventLoopDelayMs
        ? 'eventLoopDelay'
        : maxHeapUsed > 0 && getHeapStatistics().used_heap_size > maxHeapUsed
          ? 'heapUsedBytes'
          : undefined;
    shedding = armed ? pressure : undefined;
  };
  const timer = setInterval(sample, sampleInterval).unref();
  app.decorate('loadShedding', { pressure: () => pressure, eventLoopDelayMs: () => eventLoopDelay, samples: () => samples, shedding: () => shedding });
  app.addHook('onListen', (done) => {
    setTimeout(() => (armed = true), 2 * sampleInterval).unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(timer);
    histogram.disable();
    done();
  });
  // Callback style; the route's access is read only while shedding.
  app.addHook('onRequest', (request, _reply, done) => {
    if (shedding === undefined || request.routeOptions.config.access === 'public') return done();
    done(new ServiceUnavailableError('The server is overloaded; retry shortly.', { pressure: shedding }, RETRY_AFTER_SECONDS));
  });
}
