/**
 * OpenTelemetry tracing without auto-instrumentation (its monkey-patching costs throughput): spans
 * come from the HTTP hooks, the database observer, cache loads (`childSpan`) and explicit `withSpan`
 * wrappers. Each platform has its own provider—none is registered globally—so two
 * platforms in one process keep separate traces. W3C traceparent is extracted from requests and
 * injected into outgoing carriers (HTTP headers, task payloads).
 * Export: OTLP/HTTP when an endpoint is configured, otherwise the in-memory slowest-traces buffer.
 */
import { context, defaultTextMapGetter, defaultTextMapSetter, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Clock } from '../kernel/clock.ts';
import { SlowestTraces } from './slowest-traces.ts';

export interface TracingOptions {
  instanceId: string;
  version: string;
  clock: Clock;
  /** Fraction of new traces sampled; a caller's sampling decision (traceparent) is respected. */
  sampleRatio: number;
  /** OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. */
  otlpEndpoint: string | undefined;
  bufferSize: number;
  enabled: () => boolean;
  /** With the in-memory buffer: start a request's trace only once it proves slow enough to keep. */
  lazy: () => boolean;
}

/**
 * The context manager is process-wide by OpenTelemetry's design (context.active() is a global API);
 * registering one AsyncLocalStorage manager is all any platform needs, so the first one installs it.
 */
let contextManager: AsyncLocalStorageContextManager | undefined;
function installContextManager(): void {
  if (contextManager) return;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) contextManager = manager;
}

/**
 * Switches off AsyncLocalStorage's promise hooks, which once enabled cost every promise in the process
 * something (about 4% of a cached route), when neither tracing nor log correlation needs a context.
 * The next `context.with` enables them again.
 */
export function releaseContext(): void {
  contextManager?.disable();
}

export class Tracing {
  readonly tracer: Tracer;
  readonly exporter: 'otlp' | 'memory';
  /** Present when traces are kept in memory (no OTLP endpoint). */
  readonly slowest: SlowestTraces | undefined;
  private readonly provider: BasicTracerProvider;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(private readonly options: TracingOptions) {
    installContextManager();
    let processor: SpanProcessor;
    if (options.otlpEndpoint) {
      processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }));
      this.exporter = 'otlp';
    } else {
      processor = this.slowest = new SlowestTraces(options.clock, options.bufferSize);
      this.exporter = 'memory';
    }
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'tachyon', [ATTR_SERVICE_VERSION]: options.version, 'service.instance.id': options.instanceId }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer('tachyon', options.version);
  }

  get enabled(): boolean {
    return this.options.enabled();
  }

  /** Requests without a caller's trace get a span only when they end slow (in-memory buffer only: OTLP wants every sampled trace). */
  get lazy(): boolean {
    return this.slowest !== undefined && this.options.lazy();
  }

  /** The context carried by a W3C `traceparent`/`tracestate` carrier (HTTP headers, task payloads). */
  extract(carrier: Record<string, unknown>, base: Context = context.active()): Context {
    return this.propagator.extract(base, carrier, defaultTextMapGetter);
  }

  /** Writes the active (or given) context's traceparent into an outgoing carrier. */
  inject(carrier: Record<string, string>, ctx: Context = context.active()): Record<string, string> {
    this.propagator.inject(ctx, carrier, defaultTextMapSetter);
    return carrier;
  }

  /**
   * Runs `fn` inside a child span of the active context (cache, Redis, queue task, broker call);
   * the span records an exception and error status when `fn` throws. Without tracing, just runs `fn`.
   */
  async withSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
    if (!this.enabled) return fn(undefined);
    const span = this.tracer.startSpan(name, { kind, attributes });
    try {
      return await context.with(trace.setSpan(context.active(), span), () => fn(span));
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Like `withSpan`, but only inside a trace already in progress (a traced request): work that runs
   * for no traced caller (background refreshes, untraced requests) starts no trace of its own.
   */
  childSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
    return this.enabled && trace.getSpan(context.active()) ? this.withSpan(name, attributes, fn) : fn();
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}
