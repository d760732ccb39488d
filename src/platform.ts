/**
 * The composition root: builds the whole platform from a typed configuration. Nothing here is a
 * singleton, so tests build complete platforms in-process (embedded PGlite in memory, no timers
 * unless started) and the CLI builds one to serve.
 */
import { CacheWarmer, WARM_PARALLEL } from './cache/warmer.ts';
import { INTERNAL_TICKET_HEADER, InternalTickets } from './http/access.ts';
import { PartitionMaintenance } from './db/partition-maintenance.ts';
import { MonthPartitions } from './db/partitions.ts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Pool } from 'undici';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { adminRoutes } from './admin/routes.ts';
import { DatabaseAdvisor } from './advisor/advisor.ts';
import { IndexAdvisor } from './advisor/index-advisor.ts';
import { PlanSampler } from './advisor/plans.ts';
import { Recommendations } from './advisor/recommendations.ts';
import { advisorRoutes, recommendationRoutes } from './advisor/routes.ts';
import { StrategyPerformance } from './analysis/performance.ts';
import { wirePerformanceWriteThrough } from './analysis/http/performance-cache.ts';
import { analysisRoutes } from './analysis/routes.ts';
import { AnalysisService } from './analysis/service.ts';
import { StoreBarSource } from './analysis/store-bar-source.ts';
import { StrategyStore } from './analysis/strategy-store.ts';
import { TaskOwners } from './analysis/task-owners.ts';
import { UserLimits } from './analysis/user-limits.ts';
import { Forwarder } from './cluster/forwarding.ts';
import { LeaseStore } from './cluster/leases.ts';
import { clusterRoutes } from './cluster/routes.ts';
import { ShardOwnership } from './cluster/shard-ownership.ts';
import { InProcessTaskQueue } from './analysis/task-queue/in-process.ts';
import type { TaskQueue } from './analysis/task-queue/port.ts';
import { AnalysisPool } from './analysis/worker-pool.ts';
import { Authenticator } from './auth/authenticator.ts';
import { FailedAuthLimiter } from './auth/failed-auth-limiter.ts';
import { UserStore } from './auth/user-store.ts';
import type { TachyonConfig } from './config/config.ts';
import { FeatureFlags } from './config/flags.ts';
import { createCacheModule } from './cache/module.ts';
import { FlagExperiments } from './flags/experiments.ts';
import { FlagRollouts } from './flags/rollouts.ts';
import { flagRoutes } from './flags/routes.ts';
import { capacityRoutes } from './capacity/routes.ts';
import { CACHE_METRICS_SHAPE } from './cache/stats.ts';
import type { TieredCache } from './cache/tiered-cache.ts';
import type { Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { DASHBOARD_DIST, loadDashboardAssets } from './dashboard/assets.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { LiveMetrics } from './observability/live-metrics.ts';
import { RealUserMetrics, RUM_METRICS_SHAPE } from './dashboard/rum.ts';
import { rumRoutes } from './dashboard/rum-routes.ts';
import { HealthRegistry } from './health/registry.ts';
import { registerCoreChecks } from './health/core-checks.ts';
import { healthRoutes } from './health/routes.ts';
import { FastLane } from './http/fast-lane.ts';
import { createHttpServer } from './http/server.ts';
import { rateLimitRedis } from './http/rate-limit.ts';
import { MessageBus } from './kernel/bus.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { createLogger } from './kernel/logger.ts';
import { HistoryWatch } from './market-data/history-watch.ts';
import { marketDataRoutes, quoteFastRoute } from './market-data/routes.ts';
import { MarketData } from './market-data/service.ts';
import { FEED_LEASE, feedLeadership } from './market-data/feed-leader.ts';
import { logCorrelation } from './observability/log-context.ts';
import { Observability } from './observability/observability.ts';
import { performanceRoutes } from './observability/routes.ts';
import { dominantSpan } from './observability/slowest-traces.ts';
import { rolloutRoutes } from './rollout/routes.ts';
import { RolloutStore } from './rollout/store.ts';
import { scalingRoutes } from './scaling/routes.ts';
import { ScalingStore } from './scaling/store.ts';
import { registerTradingCounters } from './observability/trading-counters.ts';
import { WEBSOCKET_SHAPE } from './observability/shapes.ts';
import { RealtimeGateway } from './realtime/gateway.ts';
import { RedisBusBridge } from './realtime/redis-bridge.ts';
import { BookSnapshots } from './market-data/book-snapshots.ts';
import { realtimeRoutes } from './realtime/routes.ts';
import { EngineAccountSnapshots } from './realtime/snapshots.ts';
import { linkBusToStream } from './stream/bus-link.ts';
import type { EventStream } from './stream/event-stream.ts';
import { MemoryEventStream } from './stream/memory-stream.ts';
import { RedisEventStream } from './stream/redis-stream.ts';
import { seedDemoUsers, type DemoCredentials } from './seed/demo.ts';
import { demoCredentialFile } from './seed/demo-credentials.ts';
import { TradingEngine } from './trading/engine.ts';
import { PaperBroker } from './trading/paper-broker.ts';
import { EquitySnapshotter } from './trading/portfolio.ts';
import { reconcile } from './trading/reconcile.ts';
import { RedisOrderRate } from './trading/shared-order-rate.ts';
import { tradingRoutes } from './trading/routes.ts';
import { loadTestRoutes } from './loadtest/api/routes.ts';
import { LoadTestService } from './loadtest/api/service.ts';
import { RunStore } from './loadtest/api/store.ts';
import { MemoryWatch } from './profiling/memory-watch.ts';
import { profilingRoutes } from './profiling/routes.ts';
import { ProfilingSessions } from './profiling/sessions.ts';
import type { FrameCost } from './profiling/summaries.ts';
import { WINDOWS } from './observability/windows.ts';
import { VERSION } from './version.ts';

const EMBEDDED_LEASE_TTL_MS = 3_600_000;

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
  /** The flags' shared state (database + bus, audited) and the experiments comparing a rollout's cohort with the rest. */
  readonly flagRollouts: FlagRollouts;
  readonly flagExperiments: FlagExperiments;
  readonly users: UserStore;
  readonly authenticator: Authenticator;
  readonly marketData: MarketData;
  /** Order-book snapshots in Redis (scaled deployment only). */
  readonly bookSnapshots: BookSnapshots | undefined;
  /** Metrics registry (`registerCollector` for components' stats), tracing, alerts. */
  readonly observability: Observability;
  /** The WebSocket gateway (/ws); `stats()` feeds the metrics exporter. */
  readonly realtime: RealtimeGateway;
  /** Tiered L1/L2 cache (stats, invalidation, write-through for writers). */
  readonly cache: TieredCache;
  /** Orders, risk, paper execution, portfolio (the engine holds the journal and the store). */
  readonly trading: { engine: TradingEngine; broker: PaperBroker; snapshots: EquitySnapshotter };
  /** Account ownership: the shard leases this instance holds (see src/cluster/shard-ownership.ts). */
  readonly ownership: ShardOwnership;
  /** Load tests started through the admin API (one at a time per instance). */
  readonly loadTests: LoadTestService;
  /** Notices history loads by any process and publishes `history.loaded` (cached bars are dropped). */
  readonly historyWatch: HistoryWatch;
  /** Backtests, forecasts, strategies' performance: worker pool and task queue (in-process, or BullMQ with REDIS_URL). */
  readonly analysis: { service: AnalysisService; performance: StrategyPerformance; strategies: StrategyStore; queue: TaskQueue; pool: AnalysisPool };
  /** Statement statistics, plans of slow statements, index advice (admin). */
  readonly advisor: DatabaseAdvisor;
  /** Profiling sessions through the process's inspector and the post-GC heap watch (admin). */
  readonly profiling: { sessions: ProfilingSessions; memory: MemoryWatch };
  readonly app: FastifyInstance;
  /** The cached quote answered before Fastify's router (src/http/fast-lane.ts): `stats()` for tests. */
  readonly fastLane: FastLane;
  /** The demo credentials valid on this start (created, configured, or kept in the data directory). */
  readonly demo: DemoCredentials | undefined;
  /** Readiness checks and dependencies for /api/health/ready and /detailed; components add theirs (feed leader, leases). */
  readonly health: HealthRegistry;
  /** Fills the hot cache classes at start, before readiness (its last report, for tests and operators). */
  readonly cacheWarmer: CacheWarmer;
  /** Starts background work (the feed, writers) and listens; returns the bound address. */
  listen(): Promise<string>;
  /**
   * Graceful stop: readiness answers 503 at once and, after `drainMs` (time for a load balancer to
   * notice), the server refuses new requests, finishes in-flight ones, closes WebSockets with 1012,
   * stops components (flushing writes), and closes the database.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** A readiness or dependency check slower than this counts as failed: probes must answer fast. */
const HEALTH_CHECK_TIMEOUT_MS = 1_000;

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
    const authenticator = new Authenticator(users, clock, {
      staleIfErrorMs: config.http.authStaleIfErrorMs,
      failedAuth: new FailedAuthLimiter({ maxFailures: config.http.authFailureLimit, windowMs: config.http.authFailureWindowMs, maxAddresses: 100_000 }, clock),
    });
    const marketData = await MarketData.create({ db, bus, clock, logger, market: config.market });
    const historyWatch = await HistoryWatch.create(marketData.barStore, bus, logger);
    // ---- partitions: months created ahead (and archived, when configured) for bars and the trading ledger ----
    const monthPartitions = new MonthPartitions(db);
    const partitionMaintenance = new PartitionMaintenance(db, monthPartitions, clock, logger, config.partitions);
    // A real start keeps the demo tokens in its data directory, valid across restarts; tests pass their own database.
    const keptTokens = options.inMemory || options.db ? undefined : demoCredentialFile(config.dataDir);
    const demo = config.seedDemo ? await seedDemoUsers(users, config, keptTokens) : undefined;

    // ---- observability: metrics, tracing, logs, alerts; its hooks go on before any route ----
    // With REDIS_URL the instances share one queue: the feed leader alone alerts on it.
    const leadsCluster = () => !config.redisUrl || marketData.status().role === 'leader';
    const observability = new Observability({ config, instanceId, version: VERSION, clock, logger, flags, db, leadsCluster });

    // ---- database advisor: plans of slow statements, index advice (admin) ----
    const planSampling = flags.register({ name: 'observability.plan-sampling', description: 'Capture EXPLAIN ANALYZE plans of statements slower than TACHYON_PLAN_THRESHOLD_MS (rate-limited)', default: true, kind: 'instrumentation' });
    const { advisor: advisorConfig } = config;
    const plans = new PlanSampler(db, { thresholdMs: advisorConfig.planThresholdMs, minIntervalMs: advisorConfig.planMinIntervalMs, perStatementMs: advisorConfig.planPerStatementMs, keep: advisorConfig.plansKept }, logger, planSampling);
    built.push(() => plans.close());
    const advisor = new DatabaseAdvisor({
      db,
      plans,
      indexes: new IndexAdvisor(db, plans, { minCostReduction: advisorConfig.minCostReduction, scratchMaxRows: advisorConfig.scratchMaxRows }, logger),
      statementStats: (limit) => observability.database.statementStats(limit),
    });
    // ---- cache: tiered L1/L2, invalidation by bus events; HTTP compression and ETags go on before routes ----
    const cacheModule = await createCacheModule({ config, flags, bus, db, logger, span: (name, attributes, fn) => observability.tracing.childSpan(name, attributes, fn) });
    built.push(() => cacheModule.close());
    observability.metrics.registerCollector('cache', () => cacheModule.cache.stats.metrics(), CACHE_METRICS_SHAPE);

    // ---- trading: in-memory risk and portfolio, paper broker, group-committed journal; rebuilt from the database ----
    const lotSizes = new Map(marketData.instruments.map((i) => [i.id, i.lotSize]));
    const broker = new PaperBroker({
      bus,
      book: marketData.book,
      clock,
      marketClock: marketData.marketClock,
      lotSize: (id) => lotSizes.get(id)!,
      deferredFills: config.trading.paperFills === 'deferred',
    });
    // One writer per account: shard leases, fenced commits, commands forwarded to the owner. An
    // embedded database belongs to one process: it keeps one holder name across restarts (its leases
    // from before a crash are its own, not a dead instance's to wait out) and long leases (nobody
    // else can take over, so a busy start-up must not make it drop and reload its accounts).
    const embedded = db.kind === 'embedded';
    const leaseStore = new LeaseStore(db, embedded ? 'embedded' : instanceId, config.cluster.internalUrl ?? null);
    const ttlMs = embedded ? Math.max(config.cluster.leaseTtlMs, EMBEDDED_LEASE_TTL_MS) : config.cluster.leaseTtlMs;
    const ownership = new ShardOwnership({ store: leaseStore, shards: config.cluster.shards, ttlMs, logger });
    // With REDIS_URL the request rate and the per-account order rate hold across instances (one fail-fast connection).
    const limiterRedis = config.redisUrl ? await rateLimitRedis(config.redisUrl) : undefined;
    built.push(() => limiterRedis?.disconnect());
    const orderRate = limiterRedis && new RedisOrderRate(limiterRedis, config.cache.prefix);
    const tradingEngine = await TradingEngine.create({ db, bus, clock, logger, marketData, broker, ownership, orderRate, config: config.trading });
    built.push(() => tradingEngine.stop().then(() => ownership.stop()));
    const forwarder = new Forwarder(ownership, { instanceId, timeoutMs: config.cluster.forwardTimeoutMs, logger });
    const equitySnapshots = new EquitySnapshotter(tradingEngine, clock, logger, config.trading.snapshotIntervalMs);
    registerTradingCounters(observability.metrics, tradingEngine.counts);
    // tachyon_trading_engine_state{state}, tachyon_trading_journal_* (batches, rows, failures, percentiles).
    observability.metrics.registerCollector('trading', () => tradingEngine.metrics(), {
      labels: { 'engine.state.byState': ['state'] },
      counters: ['engine.halts', 'journal.batches', 'journal.rows', 'journal.failures', 'journal.fencedBatches'],
    });

    // ---- realtime: WebSocket gateway; with REDIS_URL the bus reaches every instance ----
    const busBridge = config.redisUrl
      ? await RedisBusBridge.attach(bus, { url: config.redisUrl, channel: config.realtime.busChannel, origin: instanceId, logger })
      : undefined;
    built.push(() => busBridge?.close());
    // With a bridge, one instance (the lease holder) runs the feed and the others follow its ticks.
    const feedKeeper = busBridge ? feedLeadership(marketData, leaseStore, config.market.leaderTtlMs, logger) : undefined;
    // ---- order-book snapshots in Redis: the feed leader writes them, the others' book route reads them ----
    const bookSnapshots =
      config.redisUrl && busBridge
        ? new BookSnapshots({
            url: config.redisUrl,
            prefix: `${config.realtime.busChannel}:`,
            timeoutMs: config.cache.l2TimeoutMs,
            ttlMs: config.market.bookTtlMs,
            book: marketData.book,
            bus,
            leading: () => marketData.isLeader,
            logger,
          })
        : undefined;
    if (bookSnapshots) {
      built.push(() => bookSnapshots.close());
      await bookSnapshots.connect();
      observability.metrics.registerCollector('book_snapshots', () => bookSnapshots.stats(), { counters: ['written', 'flushes', 'failedWrites', 'reads', 'failedReads'] });
    }
    // ---- event stream: account events with offsets (Redis Streams with REDIS_URL, else in memory) ----
    const streamConfig = config.stream;
    const stream: EventStream = config.redisUrl
      ? new RedisEventStream({
          ...streamConfig,
          url: config.redisUrl,
          prefix: streamConfig.prefix ?? `${config.realtime.busChannel}:stream:`,
          origin: instanceId,
          consumer: streamConfig.consumer ?? (config.port === 0 ? undefined : `${hostname()}:${config.port}`),
          logger,
        })
      : new MemoryEventStream(streamConfig, instanceId);
    const unlinkStream = linkBusToStream(bus, stream, instanceId);
    built.push(() => stream.close());
    await stream.start();
    observability.metrics.registerCollector('stream', () => stream.stats(), { counters: ['appended', 'dropped', 'consumed'] });
    // After trading: orders and portfolio snapshots come from the engine's in-memory accounts.
    const snapshots = new EngineAccountSnapshots(tradingEngine, marketData);
    const realtime = new RealtimeGateway({ bus, marketData, authenticator, snapshots, stream, clock, logger, config: config.realtime });
    observability.metrics.registerCollector('websocket', () => realtime.stats(), WEBSOCKET_SHAPE);

    // ---- analysis: worker pool sized to the cores, task queue (BullMQ when REDIS_URL is set), strategies ----
    const analysisConfig = config.analysis;
    const analysisPool = new AnalysisPool({ threads: analysisConfig.threads, taskTimeoutMs: analysisConfig.taskTimeoutMs, maxMemoryMb: analysisConfig.workerMemoryMb, idleTimeoutMs: analysisConfig.workerIdleMs });
    // BullMQ (~200 modules, ~5 MiB of heap) is loaded only when a Redis server backs the queue.
    const taskQueue: TaskQueue = config.redisUrl
      ? new (await import('./analysis/task-queue/bullmq.ts')).BullMqTaskQueue({ redisUrl: config.redisUrl, prefix: analysisConfig.queuePrefix, concurrency: analysisConfig.queueConcurrency })
      : new InProcessTaskQueue({ concurrency: analysisConfig.queueConcurrency, clock });
    built.push(() => analysisPool.close(), () => taskQueue.close());
    const analysis = new AnalysisService({
      pool: analysisPool,
      queue: taskQueue,
      bars: new StoreBarSource(marketData, clock, db.kind),
      flags,
      limits: { maxSymbolBars: analysisConfig.maxSymbolBars, inlineSymbolBars: analysisConfig.inlineSymbolBars },
      inlineTimeoutMs: analysisConfig.taskTimeoutMs,
      userLimits: new UserLimits(analysisConfig.userLimits),
    });
    const strategies = new StrategyStore(db);
    const strategyPerformance = new StrategyPerformance({ store: strategies, analysis, queue: taskQueue, bus, clock, logger, refreshMs: analysisConfig.performanceRefreshMs });
    analysis.registerTasks();
    strategyPerformance.registerTasks();
    const unwirePerformanceCache = wirePerformanceWriteThrough(bus, cacheModule.cache, logger);
    built.push(unwirePerformanceCache);
    observability.metrics.registerCollector('task_queue', () => taskQueue.stats(), {
      labels: { byType: ['type'] },
      counters: ['byType.completed', 'byType.failed', 'byType.cancelled', 'byType.retried'],
    });

    // ---- memory budget: the consumers /performance/metrics/memory breaks the instance's RSS into ----
    const engineMemory = db.memory?.bind(db);
    if (engineMemory) observability.runtime.registerMemoryConsumer('database', async () => ({ ...(await engineMemory()) }));
    observability.runtime.registerMemoryConsumer('analysisThreads', () => ({ threads: analysisPool.stats().threads }));
    observability.runtime.registerMemoryConsumer('cacheL1', () => ({ usedBytes: cacheModule.cache.l1.bytes, limitBytes: config.cache.l1MaxBytes }));

    // ---- health: readiness (lifecycle, database) and dependencies; other capabilities add theirs ----
    let shuttingDown = false;
    let started = false;
    let serving = false;
    const health = new HealthRegistry(HEALTH_CHECK_TIMEOUT_MS);
    registerCoreChecks(health, {
      db,
      lifecycle: () => (shuttingDown ? 'draining' : serving ? 'serving' : 'starting'),
      redis: busBridge && (() => ({ bridged: busBridge.connected, cacheL2: cacheModule.cache.redisHealthy, droppedEvents: busBridge.dropped, stream: stream.stats(), limiter: limiterRedis?.status === 'ready' })),
      queue: { kind: config.redisUrl ? 'bullmq' : 'in-process', stats: () => taskQueue.stats() },
    });
    // A follower that hears no tick for three lease periods while the market is open has lost the market
    // (no leader, or the bridge is down): it would serve stale prices and fill on them.
    const feedSilenceMs = 3 * config.market.leaderTtlMs;
    health.addReadiness('feed', () => {
      const feed = marketData.status();
      const silent = feed.role === 'follower' && config.market.tickRate > 0 && marketData.marketClock.isOpen(clock.now()) && (feed.lastTickAgeMs ?? Infinity) > feedSilenceMs;
      return silent && serving ? { ok: false, reason: `no tick from the feed leader for ${feed.lastTickAgeMs === undefined ? 'ever' : `${Math.round(feed.lastTickAgeMs)} ms`}` } : { ok: true };
    });
    health.addDependency({
      name: 'feed',
      check: async () => {
        // Scaled: which instance leads, as the lease table has it (alone, this instance always does).
        const [lease] = feedKeeper ? await leaseStore.list([FEED_LEASE]) : [];
        const leader = lease && { holder: lease.holder, epoch: lease.epoch, lapsed: lease.lapsed };
        return { ok: true, latencyMs: 0, details: { ...marketData.status(), ...(leader ? { leader } : {}) } };
      },
    });
    health.addDependency({
      name: 'account leases',
      check: async () => ({ ok: true, latencyMs: 0, details: { holder: ownership.holder, shardsHeld: ownership.heldShards().size, shards: config.cluster.shards } }),
    });

    const internalTickets = new InternalTickets();
    const compactHeaders = flags.register({
      name: 'http.compact-headers',
      description: "Responses that are not documents (JSON, problem+json) get the API security headers (nosniff, CSP default-src 'none', no referrer, CORP; HSTS over https); HTML keeps helmet's full set",
      default: true,
    });
    const app = await createHttpServer({
      logger,
      authenticator,
      internalTickets,
      bodyLimitBytes: config.http.bodyLimitBytes,
      rateLimitPerSecond: config.http.rateLimitPerSecond,
      rateLimitRedis: limiterRedis && { redis: limiterRedis, prefix: config.cache.prefix },
      trustProxy: config.http.trustProxy,
      version: VERSION,
      timeouts: { requestMs: config.http.requestTimeoutMs, headersMs: config.http.headersTimeoutMs, idleMs: config.http.idleTimeoutMs },
      shedding: { eventLoopDelayMs: config.http.shedEventLoopDelayMs, heapPercent: config.http.shedHeapPercent },
      compactHeaders,
    });
    observability.instrument(app);
    await cacheModule.installHttp(app);
    // ---- flags: shared rollouts (database, bus, audit), experiments recording latency per cohort ----
    const flagRollouts = new FlagRollouts({ db, bus, flags, logger });
    await flagRollouts.start();
    const flagExperiments = new FlagExperiments({ db, flags, rollouts: flagRollouts, instanceId, logger });
    flagExperiments.install(app);
    built.push(() => flagExperiments.stop(), () => flagRollouts.stop());
    await app.register(flagRoutes({ flags, rollouts: flagRollouts, experiments: flagExperiments }));
    // ---- end flags ----
    await app.register(healthRoutes({ db, version: VERSION, instanceId, startedAt, registry: health, isShuttingDown: () => shuttingDown, history: () => marketData.history.status() }));
    await app.register(marketDataRoutes(marketData, clock, cacheModule.routeCache, bookSnapshots));
    // ---- fast lane: the cached quote answered before Fastify's router, with the same components ----
    const fastLane = new FastLane({
      enabled: flags.register({ name: 'http.fast-lane', description: "GET /api/market-data/quotes/:symbol answered in node's request listener before Fastify's router (same auth cache, limiter, shedding, headers, ETag, metrics); anything else falls through to Fastify", default: true }),
      authenticator,
      compactHeaders,
      etag: cacheModule.httpFlags.etag,
      compressAboveBytes: config.cache.compressResponsesAboveBytes,
      telemetry: observability.http,
      logger,
      busy: () => flagExperiments.recording() || (observability.faults?.active() ?? false),
    });
    fastLane.route(quoteFastRoute(marketData));
    fastLane.install(app);
    observability.metrics.registerCollector('http_fast_lane', () => fastLane.stats(), { counters: ['answered', 'passed'] });
    // ---- end fast lane ----
    await app.register(adminRoutes({ users, history: marketData.history, reconcile: () => reconcile(db) }));
    await app.register(tradingRoutes({ engine: tradingEngine, marketData, clock, forwarder }));
    await app.register(clusterRoutes({ ownership }));
    await app.register(
      analysisRoutes({ analysis, performance: strategyPerformance, strategies, queue: taskQueue, owners: new TaskOwners(db), clock, cached: cacheModule.routeCache }),
    );
    await cacheModule.routes(app);
    await app.register(performanceRoutes({ observability, authenticator, db, metricsToken: config.metricsToken, statements: () => advisor.statements() }));
    await app.register(advisorRoutes(advisor));
    await app.register(realtimeRoutes(realtime, authenticator, config.realtime));
    // ---- load tests (admin API) ----
    const loadTestStore = new RunStore(db);
    await loadTestStore.abandonStale(db.kind === 'embedded' ? 0 : config.loadtest.maxDurationMs + 60_000);
    const runTokens = {
      issue: (userId: number, ttlMs: number) => users.issueToken(userId, 'loadtest-run', { expiresInMs: ttlMs }),
      revoke: async (token: string) => {
        await users.revokeToken(token);
        authenticator.forget(token);
      },
    };
    const loadTests = new LoadTestService({ store: loadTestStore, guardrails: config.loadtest, instanceId, logger, tokens: runTokens });
    await app.register(loadTestRoutes({ service: loadTests, store: loadTestStore }));
    // ---- profiling sessions and leak detection (admin) ----
    const profiling = new ProfilingSessions(config.profiling, clock, logger);
    built.push(() => profiling.close());
    const memoryWatch = new MemoryWatch({ ...config.profiling.leak, maxSnapshotBytes: config.profiling.maxSnapshotBytes, dir: config.profiling.dir }, logger);
    observability.metrics.registerCollector('memory', () => memoryWatch.metrics());
    await app.register(profilingRoutes(profiling, memoryWatch, config.profiling.maxDurationMs));
    // ---- recommendations: rules over what every component above measures ----
    const recommendations = new Recommendations(db, {
      cacheClasses: () => {
        const { hits, misses } = cacheModule.cache.stats.metrics();
        return Object.entries(hits.byTier).map(([name, h]) => ({ name, hits: h.l1! + h.l2! + h.db!, misses: misses.byTier[name]!.db! }));
      },
      cacheHitTarget: 0.95,
      indexSuggestions: () => advisor.indexes.list(),
      indexHealth: () => advisor.indexHealth(),
      pool: () => db.stats(),
      eventLoopDelayP99Ms: async () => ((await observability.metrics.registry.getSingleMetric('nodejs_eventloop_lag_p99_seconds')?.get())?.values[0]?.value ?? 0) * 1000,
      latestCpuProfile: () => (profiling.list().find((p) => p.kind === 'cpu' && p.state === 'completed')?.summary as { topSelf: FrameCost[] } | undefined)?.topSelf,
      memory: () => {
        const status = memoryWatch.status();
        return { suspected: status.suspected, trend: status.trend, growth: status.lastReport?.growth ?? null };
      },
      routes: () => observability.http.routes(WINDOWS['5m']),
      dominantSpan: (route) => {
        const trace = observability.tracing.slowest?.slowestOf(route);
        const span = trace && dominantSpan(trace);
        return span && { traceId: trace.traceId, traceMs: trace.durationMs, span };
      },
      queueDepth: async () => (await taskQueue.stats()).depth,
      websocket: async () => realtime.stats(),
      flags: () => flags.list(),
      barPartitions: async () => (await monthPartitions.list('bars_1m')).map((p) => p.name),
      now: () => clock.now(),
    });
    await app.register(recommendationRoutes(recommendations));
    await app.register(capacityRoutes());
    await app.register(scalingRoutes({ store: new ScalingStore(db), instanceId }));
    // ---- rollouts: the API of the cluster's rollout controller (src/rollout), met in the database ----
    await app.register(rolloutRoutes({ store: new RolloutStore(db) }));
    // ---- dashboard: the web app at /dashboard and its field measurements (RUM) ----
    const rum = new RealUserMetrics();
    observability.metrics.registerCollector('rum', () => rum.stats(), RUM_METRICS_SHAPE);
    await app.register(dashboardRoutes(() => loadDashboardAssets(DASHBOARD_DIST)));
    await app.register(rumRoutes(rum));
    // The performance view's live panels: the admin `metrics` WebSocket channel, built only while watched.
    realtime.streamMetrics(new LiveMetrics({ observability, db, loadTest: () => loadTests.current(), now: () => clock.now() }));
    await app.ready();
    // ---- cache warming: the hot classes are filled through the routes before readiness (src/cache/warmer.ts) ----
    // The warm-up requests this instance's own routes over the loopback (a pool opened once listening, closed
    // after): app.inject's request and response classes would leave node's response internals polymorphic for
    // the life of the process, about 2 µs on every cached read after (docs/benchmarks.md, session 18).
    let loopback: Pool | undefined;
    const cacheWarmer = new CacheWarmer({
      db,
      clock,
      logger,
      options: config.cache.warm,
      request: async (path, principal) => {
        const response = await loopback!.request({ method: 'GET', path, headers: { [INTERNAL_TICKET_HEADER]: internalTickets.issue(principal) } });
        await response.body.dump();
        return response.statusCode;
      },
    });
    health.addReadiness('cache', () => (cacheWarmer.done ? { ok: true } : { ok: false, reason: 'warming the cache' }));
    // Last step of the build, so a slow start-up does not outlast the first leases.
    await ownership.start();

    let stopping: Promise<void> | undefined;
    return {
      config,
      instanceId,
      logger,
      clock,
      db,
      bus,
      flags,
      flagRollouts,
      flagExperiments,
      users,
      authenticator,
      marketData,
      bookSnapshots,
      observability,
      realtime,
      cache: cacheModule.cache,
      trading: { engine: tradingEngine, broker, snapshots: equitySnapshots },
      ownership,
      loadTests,
      historyWatch,
      analysis: { service: analysis, performance: strategyPerformance, strategies, queue: taskQueue, pool: analysisPool },
      advisor,
      profiling: { sessions: profiling, memory: memoryWatch },
      app,
      fastLane,
      demo,
      health,
      cacheWarmer,
      async listen() {
        if (feedKeeper) await feedKeeper.start();
        else marketData.start();
        historyWatch.start();
        partitionMaintenance.start();
        await observability.start();
        realtime.start();
        broker.start();
        equitySnapshots.start();
        strategyPerformance.start();
        memoryWatch.start();
        flagRollouts.startPolling();
        flagExperiments.start();
        started = true;
        const address = await app.listen({ port: config.port, host: config.host });
        loopback = new Pool(loopbackAddress(config.host, app), { connections: WARM_PARALLEL });
        await cacheWarmer.warm().finally(() => loopback!.close());
        serving = true;
        loadTests.setDefaultTarget(address);
        if (!config.cluster.internalUrl) {
          leaseStore.advertise(internalAddress(config.host, app));
          await ownership.refresh();
        }
        return address;
      },
      stop(options = {}) {
        stopping ??= (async () => {
          shuttingDown = true;
          if (options.drainMs) await new Promise((resolve) => setTimeout(resolve, options.drainMs));
          // A load test aimed at this instance must stop before the server drains.
          await loadTests.close();
          await profiling.close();
          await memoryWatch.stop();
          // Ends nothing: a running experiment is ended by another instance (or at the next start); the figures are written.
          await flagExperiments.stop();
          flagRollouts.stop();
          plans.close();
          await plans.idle();
          // Background history loading stops between two slices, before the database closes.
          await marketData.history.stop();
          realtime.stop();
          equitySnapshots.stop();
          // Accounts are handed back while this instance still listens: each shard's last batch commits,
          // then its lease is released, so other instances take them at once (a rolling restart waits for
          // no expiry). Meanwhile a request here for an account already handed back is forwarded to its
          // new owner, and one another instance forwarded here is answered `account_moving` (nothing ran;
          // the sender asks the new owner): no command meets a closing listener.
          await ownership.stop();
          await tradingEngine.stop();
          // Other instances forward here only on an owner lookup cached for a third of the lease TTL:
          // once those have lapsed nobody sends a command here, and closing the kept-alive connections
          // cannot race one (a request crossing the close is ambiguous to its sender). Embedded: no others.
          if (!embedded) await new Promise((resolve) => setTimeout(resolve, Math.ceil(ttlMs / 3)));
          await app.close();
          await strategyPerformance.stop();
          unwirePerformanceCache();
          await taskQueue.close();
          await analysisPool.close();
          await cacheModule.close();
          // The leader writes its last bars and quotes, then hands the feed over at once.
          await feedKeeper?.stop();
          await busBridge?.close();
          unlinkStream();
          await stream.close();
          limiterRedis?.disconnect();
          historyWatch.stop();
          partitionMaintenance.stop();
          if (started) await marketData.stop();
          await bookSnapshots?.close();
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

/** This instance's own address from inside the process: the loopback when it listens on every interface. */
function loopbackAddress(host: string, app: FastifyInstance): string {
  return addressAt(host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, app);
}

/** Where other instances reach this one: the bound port on HOST, or this machine's name when HOST is a wildcard. */
function internalAddress(host: string, app: FastifyInstance): string {
  return addressAt(host === '0.0.0.0' || host === '::' ? hostname() : host, app);
}

/** `name` (a host name or an address, IPv6 bracketed here) with the listening server's port. */
function addressAt(name: string, app: FastifyInstance): string {
  const { port } = app.server.address() as AddressInfo;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}
