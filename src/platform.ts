/**
 * The composition root: builds the whole platform from a typed configuration. Nothing here is a
 * singleton, so tests build complete platforms in-process (embedded PGlite in memory, no timers
 * unless started) and the CLI builds one to serve.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { adminRoutes } from './admin/routes.ts';
import { StrategyPerformance } from './analysis/performance.ts';
import { analysisRoutes } from './analysis/routes.ts';
import { AnalysisService } from './analysis/service.ts';
import { StoreBarSource } from './analysis/store-bar-source.ts';
import { StrategyStore } from './analysis/strategy-store.ts';
import { TaskOwners } from './analysis/task-owners.ts';
import { BullMqTaskQueue } from './analysis/task-queue/bullmq.ts';
import { InProcessTaskQueue } from './analysis/task-queue/in-process.ts';
import type { TaskQueue } from './analysis/task-queue/port.ts';
import { AnalysisPool } from './analysis/worker-pool.ts';
import { Authenticator } from './auth/authenticator.ts';
import { UserStore } from './auth/user-store.ts';
import type { TachyonConfig } from './config/config.ts';
import { FeatureFlags } from './config/flags.ts';
import { createCacheModule } from './cache/module.ts';
import { CACHE_METRICS_SHAPE } from './cache/stats.ts';
import type { TieredCache } from './cache/tiered-cache.ts';
import type { Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { healthRoutes, type DependencyCheck } from './health/routes.ts';
import { createHttpServer } from './http/server.ts';
import { MessageBus } from './kernel/bus.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { createLogger } from './kernel/logger.ts';
import { HistoryWatch } from './market-data/history-watch.ts';
import { marketDataRoutes } from './market-data/routes.ts';
import { MarketData } from './market-data/service.ts';
import { logCorrelation } from './observability/log-context.ts';
import { Observability } from './observability/observability.ts';
import { performanceRoutes } from './observability/routes.ts';
import { registerTradingCounters } from './observability/trading-counters.ts';
import { WEBSOCKET_SHAPE } from './observability/shapes.ts';
import { RealtimeGateway } from './realtime/gateway.ts';
import { RedisBusBridge } from './realtime/redis-bridge.ts';
import { realtimeRoutes } from './realtime/routes.ts';
import { EngineAccountSnapshots } from './realtime/snapshots.ts';
import { seedDemoUsers, type DemoCredentials } from './seed/demo.ts';
import { demoCredentialFile } from './seed/demo-credentials.ts';
import { TradingEngine } from './trading/engine.ts';
import { PaperBroker } from './trading/paper-broker.ts';
import { EquitySnapshotter } from './trading/portfolio.ts';
import { tradingRoutes } from './trading/routes.ts';
import { loadTestRoutes } from './loadtest/api/routes.ts';
import { LoadTestService } from './loadtest/api/service.ts';
import { RunStore } from './loadtest/api/store.ts';
import { VERSION } from './version.ts';

export interface PlatformOptions {
  clock?: Clock;
  logger?: Logger;
  /** Use an in-memory embedded database (tests) instead of TACHYON_DATA_DIR. */
  inMemory?: boolean;
  /** An already open database (tests share one across platforms). */
  db?: Database;
}

export interface Platform {
  readonly config: TachyonConfig;
  readonly instanceId: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly db: Database;
  readonly bus: MessageBus;
  readonly flags: FeatureFlags;
  readonly users: UserStore;
  readonly authenticator: Authenticator;
  readonly marketData: MarketData;
  /** Metrics registry (`registerCollector` for components' stats), tracing, alerts. */
  readonly observability: Observability;
  /** The WebSocket gateway (/ws); `stats()` feeds the metrics exporter. */
  readonly realtime: RealtimeGateway;
  /** Tiered L1/L2 cache (stats, invalidation, write-through for writers). */
  readonly cache: TieredCache;
  /** Orders, risk, paper execution, portfolio (the engine holds the journal and the store). */
  readonly trading: { engine: TradingEngine; broker: PaperBroker; snapshots: EquitySnapshotter };
  /** Load tests started through the admin API (one at a time per instance). */
  readonly loadTests: LoadTestService;
  /** Notices history loads by any process and publishes `history.loaded` (cached bars are dropped). */
  readonly historyWatch: HistoryWatch;
  /** Backtests, forecasts, strategies' performance: worker pool and task queue (in-process, or BullMQ with REDIS_URL). */
  readonly analysis: { service: AnalysisService; performance: StrategyPerformance; strategies: StrategyStore; queue: TaskQueue; pool: AnalysisPool };
  readonly app: FastifyInstance;
  /** The demo credentials valid on this start (created, configured, or kept in the data directory). */
  readonly demo: DemoCredentials | undefined;
  /** Starts background work (the feed, writers) and listens; returns the bound address. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new requests, finish in-flight ones, flush writes, close the database. */
  stop(): Promise<void>;
}

export async function buildPlatform(config: TachyonConfig, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel, undefined, logCorrelation);
  const instanceId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const startedAt = Date.now();
  const bus = new MessageBus((error, topic) => logger.error({ err: error, topic }, 'bus handler failed'));
  const flags = new FeatureFlags(config.flags);

  const db = options.db ?? (await openDatabase(config, { inMemory: options.inMemory }));
  const ownsDb = !options.db;
  // What holds connections, threads or timers, closed in reverse if a later step of the build fails.
  const built: Array<() => unknown> = [];
  try {
    await migrate(db);
    const users = new UserStore(db);
    const authenticator = new Authenticator(users, clock);
    const marketData = await MarketData.create({ db, bus, clock, logger, market: config.market });
    const historyWatch = await HistoryWatch.create(marketData.barStore, bus, logger);
    // A real start keeps the demo tokens in its data directory, valid across restarts; tests pass their own database.
    const keptTokens = options.inMemory || options.db ? undefined : demoCredentialFile(config.dataDir);
    const demo = config.seedDemo ? await seedDemoUsers(users, config, keptTokens) : undefined;

    // ---- observability: metrics, tracing, logs, alerts; its hooks go on before any route ----
    const observability = new Observability({ config, instanceId, version: VERSION, clock, logger, flags, db });

    // ---- cache: tiered L1/L2, invalidation by bus events; HTTP compression and ETags go on before routes ----
    const cacheModule = await createCacheModule({ config, flags, bus, db, logger, span: (name, attributes, fn) => observability.tracing.childSpan(name, attributes, fn) });
    built.push(() => cacheModule.close());
    observability.metrics.registerCollector('cache', () => cacheModule.cache.stats.metrics(), CACHE_METRICS_SHAPE);

    // ---- trading: in-memory risk and portfolio, paper broker, group-committed journal; rebuilt from the database ----
    const lotSizes = new Map(marketData.instruments.map((i) => [i.id, i.lotSize]));
    const broker = new PaperBroker({ bus, book: marketData.book, clock, marketClock: marketData.marketClock, lotSize: (id) => lotSizes.get(id)! });
    const tradingEngine = await TradingEngine.create({ db, bus, clock, logger, marketData, broker, config: config.trading });
    built.push(() => tradingEngine.stop());
    const equitySnapshots = new EquitySnapshotter(tradingEngine, clock, logger, config.trading.snapshotIntervalMs);
    registerTradingCounters(observability.metrics, tradingEngine.counts);

    // ---- realtime: WebSocket gateway; with REDIS_URL the bus reaches every instance ----
    const busBridge = config.redisUrl
      ? await RedisBusBridge.attach(bus, { url: config.redisUrl, channel: config.realtime.busChannel, origin: instanceId, logger })
      : undefined;
    built.push(() => busBridge?.close());
    // After trading: orders and portfolio snapshots come from the engine's in-memory accounts.
    const snapshots = new EngineAccountSnapshots(tradingEngine, marketData);
    const realtime = new RealtimeGateway({ bus, marketData, authenticator, snapshots, clock, logger, config: config.realtime });
    observability.metrics.registerCollector('websocket', () => realtime.stats(), WEBSOCKET_SHAPE);

    // ---- analysis: worker pool sized to the cores, task queue (BullMQ when REDIS_URL is set), strategies ----
    const analysisConfig = config.analysis;
    const analysisPool = new AnalysisPool({ threads: analysisConfig.threads, taskTimeoutMs: analysisConfig.taskTimeoutMs, maxMemoryMb: analysisConfig.workerMemoryMb });
    const taskQueue: TaskQueue = config.redisUrl
      ? new BullMqTaskQueue({ redisUrl: config.redisUrl, prefix: analysisConfig.queuePrefix, concurrency: analysisConfig.queueConcurrency })
      : new InProcessTaskQueue({ concurrency: analysisConfig.queueConcurrency, clock });
    built.push(() => analysisPool.close(), () => taskQueue.close());
    const analysis = new AnalysisService({
      pool: analysisPool,
      queue: taskQueue,
      bars: new StoreBarSource(marketData, clock),
      flags,
      limits: { maxSymbolBars: analysisConfig.maxSymbolBars, inlineSymbolBars: analysisConfig.inlineSymbolBars },
      inlineTimeoutMs: analysisConfig.taskTimeoutMs,
    });
    const strategies = new StrategyStore(db);
    const strategyPerformance = new StrategyPerformance({ store: strategies, analysis, queue: taskQueue, bus, clock, logger, refreshMs: analysisConfig.performanceRefreshMs });
    analysis.registerTasks();
    strategyPerformance.registerTasks();
    observability.metrics.registerCollector('task_queue', () => taskQueue.stats(), {
      labels: { byType: ['type'] },
      counters: ['byType.completed', 'byType.failed', 'byType.cancelled', 'byType.retried'],
    });

    let shuttingDown = false;
    const dependencies: DependencyCheck[] = [];
    const app = await createHttpServer({
      logger,
      authenticator,
      bodyLimitBytes: config.http.bodyLimitBytes,
      rateLimitPerSecond: config.http.rateLimitPerSecond,
      trustProxy: config.http.trustProxy,
      version: VERSION,
    });
    observability.instrument(app);
    await cacheModule.installHttp(app);
    await app.register(healthRoutes({ db, version: VERSION, instanceId, startedAt, dependencies, isShuttingDown: () => shuttingDown }));
    await app.register(marketDataRoutes(marketData, clock, cacheModule.routeCache));
    await app.register(adminRoutes({ users, flags }));
    await app.register(tradingRoutes({ engine: tradingEngine, marketData, clock }));
    await app.register(
      analysisRoutes({ analysis, performance: strategyPerformance, strategies, queue: taskQueue, owners: new TaskOwners(db), clock, cached: cacheModule.routeCache }),
    );
    await cacheModule.routes(app);
    await app.register(performanceRoutes({ observability, authenticator, db, metricsToken: config.metricsToken }));
    await app.register(realtimeRoutes(realtime, authenticator, config.realtime));
    // ---- load tests (admin API) ----
    const loadTestStore = new RunStore(db);
    await loadTestStore.abandonStale(db.kind === 'embedded' ? 0 : config.loadtest.maxDurationMs + 60_000);
    const loadTests = new LoadTestService({ store: loadTestStore, guardrails: config.loadtest, instanceId, logger });
    await app.register(loadTestRoutes({ service: loadTests, store: loadTestStore }));
    await app.ready();

    let started = false;
    let stopping: Promise<void> | undefined;
    return {
      config,
      instanceId,
      logger,
      clock,
      db,
      bus,
      flags,
      users,
      authenticator,
      marketData,
      observability,
      realtime,
      cache: cacheModule.cache,
      trading: { engine: tradingEngine, broker, snapshots: equitySnapshots },
      loadTests,
      historyWatch,
      analysis: { service: analysis, performance: strategyPerformance, strategies, queue: taskQueue, pool: analysisPool },
      app,
      demo,
      async listen() {
        marketData.start();
        historyWatch.start();
        await observability.start();
        realtime.start();
        broker.start();
        equitySnapshots.start();
        analysisPool.warm();
        strategyPerformance.start();
        started = true;
        const address = await app.listen({ port: config.port, host: config.host });
        loadTests.setDefaultTarget(address);
        return address;
      },
      stop() {
        stopping ??= (async () => {
          shuttingDown = true;
          // A load test aimed at this instance must stop before the server drains.
          await loadTests.close();
          realtime.stop();
          await app.close();
          equitySnapshots.stop();
          await tradingEngine.stop();
          await strategyPerformance.stop();
          await taskQueue.close();
          await analysisPool.close();
          await cacheModule.close();
          await busBridge?.close();
          historyWatch.stop();
          if (started) await marketData.stop();
          await observability.stop();
          if (ownsDb) await db.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const close of built.reverse()) await Promise.resolve().then(close).catch(() => {});
    if (ownsDb) await db.close().catch(() => {});
    throw error;
  }
}
