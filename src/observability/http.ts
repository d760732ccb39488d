/**
 * HTTP instrumentation through Fastify hooks (no monkey-patching): a Prometheus histogram by method,
 * route template and status; sliding HDR windows overall and per route; SLO event counts; a server
 * span per request continuing the caller's W3C trace; the request context that correlates logs;
 * slow-request log lines. Labels use the route template (`/api/quotes/:symbol`), never the raw URL,
 * and every unmatched URL is `unmatched`, so cardinality stays bounded. A request forwarded to the
 * account's owner (src/cluster/forwarding.ts) is also observed in a histogram of its own, in total and
 * without finding the owner and waiting for its answer: the time this instance itself took, which a
 * canary that owns no accounts (every order forwarded) is judged on (src/rollout/instance-window.ts).
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import { withRequestId } from './log-context.ts';
import type { Metrics } from './metrics.ts';
import type { SeriesHistogram } from './series-histogram.ts';
import type { Tracing } from './tracing.ts';
import { LatencyWindow, SloCounts, type WindowStats } from './windows.ts';

declare module 'fastify' {
  interface FastifyRequest {
    otelSpan: Span | undefined;
    /** Time spent waiting for another instance's answer to this request (forwarding), milliseconds. */
    forwardedMs: number;
  }
}

export interface HttpTelemetryOptions {
  metrics: Metrics;
  tracing: Tracing;
  clock: Clock;
  /** Responses slower than this are logged and count against the latency SLO's threshold separately. */
  slowRequestMs: number;
  /** The latency SLO's threshold: a response slower than this is a bad event. */
  latencySloMs: number;
  /** `logContext`: enter an async context for every request, not only traced ones (see `observability.log-context`). */
  enabled: { metrics(): boolean; logs(): boolean; logContext(): boolean };
}

/** What a span and a log line read of a request: Fastify's request or node's IncomingMessage. */
type RawRequest = Pick<IncomingMessage, 'headers'> & { method?: string | undefined; url?: string | undefined };

export const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';

export class HttpTelemetry {
  readonly overall: LatencyWindow;
  readonly slo: SloCounts;
  /** When a request last entered an async context (the idle release of its promise hooks reads it). */
  lastContextAt = 0;
  private readonly byRoute = new Map<string, LatencyWindow>();
  private readonly duration: SeriesHistogram<'method' | 'route' | 'status_code'>;
  private readonly forwarded: SeriesHistogram<'route' | 'time'>;

  constructor(private readonly options: HttpTelemetryOptions) {
    this.overall = new LatencyWindow(options.clock);
    this.slo = new SloCounts(options.clock);
    this.duration = options.metrics.seriesHistogram({
      name: 'tachyon_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code (count: request rate; status_code=~"5..": errors)',
      labelNames: ['method', 'route', 'status_code'],
    });
    this.forwarded = options.metrics.seriesHistogram({
      name: 'tachyon_http_forwarded_request_duration_seconds',
      help: 'Duration of requests forwarded to the account owner by route: time="total" as in tachyon_http_request_duration_seconds, time="own" without finding the owner and waiting for its answer',
      labelNames: ['route', 'time'],
    });
  }

  install(app: FastifyInstance): void {
    const { tracing, enabled } = this.options;
    app.decorateRequest('otelSpan', undefined);
    app.decorateRequest('forwardedMs', 0);

    app.addHook('onRequest', (request, _reply, done) => {
      // Deferred (lazy) traces start no span and enter no context here: see lateSpan.
      const live = tracing.enabled && !(tracing.lazy && request.headers.traceparent === undefined);
      // Requests Fastify's request.log serves carry reqId anyway; the context is for spans and root-logger lines.
      if (!live && !enabled.logContext()) return done();
      this.lastContextAt = this.options.clock.now();
      let ctx = withRequestId(ROOT_CONTEXT, request.id);
      if (live) {
        const parent = tracing.extract(request.headers, ctx);
        const span = this.serverSpan(request, routeOf(request), parent);
        request.otelSpan = span;
        ctx = trace.setSpan(parent, span);
      }
      // The rest of the lifecycle (handler included) runs inside this context: child spans and log lines attach to it.
      context.with(ctx, done);
    });

    app.addHook('onError', (request, _reply, error, done) => {
      request.otelSpan?.recordException(error);
      done();
    });

    app.addHook('onResponse', (request, reply, done) => {
      this.finish(request, reply);
      done();
    });
  }

  /**
   * Whether a request answered outside Fastify's hooks (the fast lane, src/http/fast-lane.ts) would get
   * nothing from `onRequest` here: no live span and no async context. `record` then does the rest.
   */
  passive(traceparent: string | string[] | undefined): boolean {
    const { tracing, enabled } = this.options;
    return !enabled.logContext() && !(tracing.enabled && !(tracing.lazy && traceparent === undefined));
  }

  /** What `onResponse` does, for a request answered outside Fastify that `passive` admitted. */
  record(request: RawRequest, route: string, status: number, ms: number, log: Pick<Logger, 'warn'>): void {
    if (this.options.enabled.metrics()) this.observe(request.method ?? 'GET', route, status, ms);
    this.endSpan(this.options.tracing.enabled ? this.lateSpan(request, route, ms) : undefined, status);
    this.logSlow(log, request.method, route, status, ms, undefined);
  }

  private finish(request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    const route = routeOf(request);
    if (this.options.enabled.metrics()) {
      this.observe(request.method, route, status, ms);
      if (request.forwardedMs > 0) {
        this.forwarded.series(route, 'total').observe(ms / 1000);
        this.forwarded.series(route, 'own').observe(Math.max(0, ms - request.forwardedMs) / 1000);
      }
    }
    const span = request.otelSpan ?? (this.options.tracing.enabled ? this.lateSpan(request, route, ms) : undefined);
    this.endSpan(span, status);
    this.logSlow(request.log, request.method, route, status, ms, span);
  }

  private observe(method: string, route: string, status: number, ms: number): void {
    this.duration.series(method, route, String(status)).observe(ms / 1000);
    const error = status >= 500;
    const now = this.options.clock.now();
    this.overall.record(ms, error, now);
    this.window(route).record(ms, error, now);
    this.slo.record(error, ms > this.options.latencySloMs, now);
  }

  private endSpan(span: Span | undefined, status: number): void {
    if (!span) return;
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  private logSlow(log: Pick<Logger, 'warn'>, method: string | undefined, route: string, status: number, ms: number, span: Span | undefined): void {
    if (ms < this.options.slowRequestMs || !this.options.enabled.logs()) return;
    const traceId = span?.spanContext().traceId;
    log.warn({ method, route, statusCode: status, durationMs: Math.round(ms * 1000) / 1000, ...(traceId ? { trace_id: traceId } : {}) }, 'slow request');
  }

  /**
   * A back-dated server span for a request that has none: one refused by access control (which runs
   * before these hooks), or a deferred trace (no caller traceparent, in-memory buffer) that turned out
   * slow enough to log or to keep. Deferring spares every other request its span and context; the
   * price is that a deferred trace holds only its server span, without database or cache children.
   */
  private lateSpan(request: RawRequest, route: string, ms: number): Span | undefined {
    const { tracing, slowRequestMs } = this.options;
    if (tracing.lazy && request.headers.traceparent === undefined && ms < slowRequestMs && !tracing.slowest!.qualifies(ms)) return undefined;
    return this.serverSpan(request, route, tracing.extract(request.headers, ROOT_CONTEXT), Date.now() - ms);
  }

  private serverSpan(request: RawRequest, route: string, parent: Context, startTime?: number): Span {
    const attributes = { 'http.request.method': request.method, 'http.route': route, 'url.path': (request.url ?? '').split('?', 1)[0] };
    return this.options.tracing.tracer.startSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes, startTime }, parent);
  }

  private window(route: string): LatencyWindow {
    let window = this.byRoute.get(route);
    if (!window) this.byRoute.set(route, (window = new LatencyWindow(this.options.clock, 2)));
    return window;
  }

  /** Per-route stats over one window, slowest p95 first. */
  routes(windowMs: number): Array<{ route: string } & WindowStats> {
    return [...this.byRoute]
      .map(([route, w]) => ({ route, ...w.stats(windowMs) }))
      .filter((r) => r.count > 0)
      .sort((a, b) => b.p95 - a.p95);
  }
}
