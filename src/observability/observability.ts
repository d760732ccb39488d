/**
 * The observability component: builds metrics, tracing, HTTP/database/runtime/network telemetry,
 * the in-process alert engine and fault injection for one platform, and exposes them to the
 * composition root. Each instrumentation has a feature flag so its cost can be measured:
 * `observability.http` (HTTP metrics and windows), `observability.database`, `observability.tracing`,
 * `observability.logs` (trace ids on log lines, slow-request lines), `observability.log-context` (off by
 * default: the request id in every request's async context); and one per optimization:
 * `observability.lazy-traces` (in-memory traces start only for requests that end slow).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TachyonConfig } from '../config/config.ts';
import type { FeatureFlags, FlagDefinition } from '../config/flags.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import { AlertEngine } from './alerts/engine.ts';
import { notifier } from './alerts/notify.ts';
import { ALERT_RULES, SLO, type Signals } from './alerts/rules.ts';
import { DatabaseTelemetry } from './database.ts';
import { FaultInjector } from './faults.ts';
import { HttpTelemetry } from './http.ts';
import { Metrics } from './metrics.ts';
import { NETWORK_SHAPE, NetworkStats } from './network.ts';
import { Runtime } from './runtime.ts';
import { releaseContext, Tracing } from './tracing.ts';

/** How long without a traced request before the async-context hooks are released. */
export const CONTEXT_IDLE_MS = 10_000;

export interface ObservabilityDeps {
  config: TachyonConfig;
  instanceId: string;
  version: string;
  clock: Clock;
  logger: Logger;
  flags: FeatureFlags;
  db: Database;
  /** Whether this instance evaluates alerts on shared signals (the feed leader; absent: always). */
  leadsCluster?: () => boolean;
}

export class Observability {
  readonly metrics = new Metrics();
  readonly tracing: Tracing;
  readonly http: HttpTelemetry;
  readonly database: DatabaseTelemetry;
  readonly runtime: Runtime;
  readonly network = new NetworkStats();
  readonly alerts: AlertEngine;
  /** Present when fault injection is enabled by configuration. */
  readonly faults: FaultInjector | undefined;
  readonly instance: { id: string; hostname: string; pid: number };
  private alertTimer: NodeJS.Timeout | undefined;
  private contextTimer: NodeJS.Timeout | undefined;
  /** False with lazy traces: only requests carrying a caller's traceparent then enter a context. */
  private readonly contextAlwaysNeeded: () => boolean;
  private scrapeServer: Server | undefined;

  constructor(private readonly deps: ObservabilityDeps) {
    const { config, clock, flags, logger } = deps;
    const options = config.observability;
    const flag = (name: string, description: string, on = true, kind: FlagDefinition['kind'] = 'instrumentation') => flags.register({ name: `observability.${name}`, description, default: on, kind });
    const httpOn = flag('http', 'HTTP request metrics (Prometheus histogram, sliding HDR windows, SLO counts)');
    const dbOn = flag('database', 'Database query metrics and spans from Database.observe');
    const tracingOn = flag('tracing', 'OpenTelemetry spans for HTTP, database and wrapped calls');
    const logsOn = flag('logs', 'Slow-request log lines (request and trace ids, route, status, duration)');
    const logContext = flag('log-context', 'Request id in the async context of every request, so lines the root logger writes while serving one carry it too (AsyncLocalStorage promise hooks: a few % of a cached route)', false);
    const lazyTraces = flag('lazy-traces', 'Without OTLP, start a request trace only when it ends slow enough for the slowest-traces buffer (or to be logged)', true, 'optimization');

    // Turned off at runtime, they leave no async-context cost behind (it would also tax the benchmark's reference).
    this.contextAlwaysNeeded = () => logContext() || (tracingOn() && !this.tracing.lazy);
    flags.onChange(() => {
      if (!this.contextAlwaysNeeded()) releaseContext();
    });
    this.instance = { id: deps.instanceId, hostname: hostname(), pid: process.pid };
    this.tracing = new Tracing({
      instanceId: deps.instanceId,
      version: deps.version,
      clock,
      sampleRatio: options.traceSampleRatio,
      otlpEndpoint: options.otlpEndpoint,
      bufferSize: options.traceBufferSize,
      enabled: tracingOn,
      lazy: lazyTraces,
    });
    this.http = new HttpTelemetry({
      metrics: this.metrics,
      tracing: this.tracing,
      clock,
      slowRequestMs: options.slowRequestMs,
      latencySloMs: SLO.latencyThresholdSeconds * 1000,
      enabled: { metrics: httpOn, logs: logsOn, logContext },
    });
    this.database = new DatabaseTelemetry({ db: deps.db, metrics: this.metrics, tracing: this.tracing, clock, enabled: dbOn });
    this.runtime = new Runtime(this.metrics, clock, options.memoryLimitBytes);
    this.metrics.registerCollector('network', () => this.network.stats(), NETWORK_SHAPE);
    this.faults = options.faultInjection ? new FaultInjector() : undefined;
    for (const fault of options.faults) this.faults?.set(fault);
    this.alerts = new AlertEngine(ALERT_RULES, this.signals(), clock, notifier(logger, config.alertWebhookUrl), deps.instanceId, deps.leadsCluster);
  }

  private signals(): Signals {
    const { http, runtime, metrics } = this;
    return {
      httpPercentileMs: (p, windowMs) => http.overall.stats(windowMs)[p === 95 ? 'p95' : 'p99'],
      httpRequestRate: (windowMs) => http.slo.ratios(windowMs).total / (windowMs / 1000),
      httpErrorRatio: (windowMs) => http.slo.ratios(windowMs).errorRatio,
      httpSlowRatio: (windowMs) => http.slo.ratios(windowMs).slowRatio,
      cpuUtilization: (windowMs) => runtime.utilization(windowMs)?.cpu,
      memoryUtilization: () => runtime.memoryUtilization(),
      queueDepth: async () => (await metrics.collect('task_queue')).filter((s) => s.name === 'tachyon_task_queue_depth').reduce((sum, s) => sum + s.value, 0),
      tradingHalted: async () =>
        (await metrics.collect('trading')).filter((s) => s.name === 'tachyon_trading_engine_state' && (s.labels.state === 'halted' || s.labels.state === 'recovering')).reduce((sum, s) => sum + s.value, 0),
      leakSuspected: async () => (await metrics.collect('memory')).find((s) => s.name === 'tachyon_memory_leak_suspected')?.value ?? 0,
    };
  }

  /** Installs the HTTP hooks; call before registering routes so every route is instrumented. */
  instrument(app: FastifyInstance): void {
    this.http.install(app);
    this.faults?.install(app);
    this.network.attach(app.server);
  }

  /** Starts the CPU sampler, the alert loop and the separate scrape port (if configured). */
  async start(): Promise<void> {
    this.runtime.start();
    this.alertTimer = setInterval(() => void this.alerts.evaluate(), this.deps.config.observability.alertIntervalMs).unref();
    // Once any context is entered, AsyncLocalStorage's promise hooks tax every promise in the process
    // (12% of a cached read measured) until released: with lazy traces, one traced call would otherwise
    // leave them on for good. Released after a quiet interval; the next traced request enables them again.
    this.contextTimer = setInterval(() => this.releaseIdleContext(), CONTEXT_IDLE_MS).unref();
    const port = this.deps.config.observability.metricsPort;
    if (port !== undefined) {
      const server = createServer((req, res) => {
        if (req.method !== 'GET' || req.url?.split('?', 1)[0] !== '/metrics') return res.writeHead(404).end();
        this.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (error: Error) => res.writeHead(500).end(error.message),
        );
      });
      this.scrapeServer = server;
      await new Promise<void>((resolve) => server.listen(port, this.deps.config.host, resolve));
    }
  }

  /** Releases the async-context hooks when nothing needs them and no request entered a context for a while; true if released. */
  releaseIdleContext(now = this.deps.clock.now()): boolean {
    if (this.contextAlwaysNeeded() || now - this.http.lastContextAt < CONTEXT_IDLE_MS) return false;
    releaseContext();
    return true;
  }

  /** Where the separate scrape port listens, if it does. */
  get scrapeAddress(): string | undefined {
    const address = this.scrapeServer?.address() as AddressInfo | null | undefined;
    return address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : undefined;
  }

  /** Stops timers and the scrape port, and flushes spans (OTLP) before the platform closes. */
  async stop(): Promise<void> {
    clearInterval(this.alertTimer);
    clearInterval(this.contextTimer);
    this.runtime.stop();
    this.database.close();
    const server = this.scrapeServer;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.tracing.shutdown();
  }
}
