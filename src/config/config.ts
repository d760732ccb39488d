/**
 * The one typed configuration, read from environment variables (and optionally a JSON file
 * named by TACHYON_CONFIG_FILE, whose keys are the same variable names). Every value is
 * validated at start-up; a wrong one stops the process with a message naming the variable
 * and what it accepts.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DATA_CLASSES, DEFAULT_POLICIES, EVICTIONS, type DataClass, type Eviction } from '../cache/policies.ts';
import { ConfigError } from '../kernel/errors.ts';
import { MALLOC_MMAP_THRESHOLD_BYTES, MALLOC_MMAP_THRESHOLD_MAX_BYTES, tunablesSetThreshold } from '../kernel/malloc-tuning.ts';
import type { LeakWatchConfig } from '../profiling/memory-watch.ts';
import type { ProfilingConfig } from '../profiling/sessions.ts';
import { parseFlagOverrides } from './flags.ts';
import { clusterNodes, clusterUrl } from '../kernel/redis-client.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type MarketHours = 'always' | 'exchange';

export interface TachyonConfig {
  port: number;
  host: string;
  dataDir: string;
  /** PostgreSQL server URL; undefined means the embedded engine (PGlite in dataDir). */
  databaseUrl: string | undefined;
  /** Read-replica URLs for read-only queries (scaled mode). */
  databaseReplicaUrls: string[];
  databasePoolSize: number;
  /** Every PostgreSQL query: cancelled by the server past this, abandoned by the client just after (a partitioned server answers fast). */
  databaseStatementTimeoutMs: number;
  /** `transaction`: DATABASE_URL points at a transaction-mode pooler (PgBouncer), which refuses session startup parameters. */
  databasePooler: 'none' | 'transaction';
  /** A read replica lagging more than this (or unreachable) is skipped; reads go to the primary. */
  databaseReplicaMaxLagMs: number;
  /** The embedded engine with a data directory runs on its own worker thread (off: on the serving thread). */
  databaseThread: boolean;
  /** TACHYON_DB_WASM_OPTIMIZE: the embedded engine's hot code recompiled by V8's optimizing tier (off: slower statements; less memory only with glibc's default mmap threshold, kernel/malloc-tuning.ts). */
  databaseWasmOptimize: boolean;
  /**
   * TACHYON_MALLOC_MMAP_THRESHOLD: glibc's mmap threshold (bytes) fixed at start (kernel/malloc-tuning.ts); undefined
   * keeps glibc's dynamic one. `auto` (default): 32 KiB on the embedded engine unless GLIBC_TUNABLES sets it, glibc's in
   * scaled mode; `glibc`: glibc's.
   */
  mallocMmapThresholdBytes: number | undefined;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  /** Tokens used for the demo users created on first start, so scripts can know them. */
  demoToken: string | undefined;
  adminToken: string | undefined;
  flags: Record<string, boolean>;
  market: {
    /** Number of instruments in the simulated universe. */
    instruments: number;
    /** Simulated ticks per second across the whole universe (0 disables the feed). */
    tickRate: number;
    /** `always`: a continuous session; `exchange`: 09:30–16:00 America/New_York on weekdays. */
    hours: MarketHours;
    /** Seed of the deterministic universe and random walks. */
    seed: number;
    /** Scaled mode: TTL of the feed leader's lease, so a dead leader is replaced within about this long. */
    leaderTtlMs: number;
    /** Scaled mode: order-book snapshots in Redis that no leader refreshes expire after this. */
    bookTtlMs: number;
  };
  http: {
    bodyLimitBytes: number;
    /** Requests per second per user; 0 disables the limit. */
    rateLimitPerSecond: number;
    /** Grace period for in-flight work at shutdown. */
    shutdownTimeoutMs: number;
    /** On SIGTERM readiness answers 503 this long before the server closes, so a load balancer stops sending first. */
    drainDelayMs: number;
    trustProxy: boolean;
    /** Time to receive a whole request, headers and body (a trickled body is cut with 408). */
    requestTimeoutMs: number;
    /** Time to receive the request line and headers. */
    headersTimeoutMs: number;
    /** A connection with no traffic either way for this long is closed (0: never). */
    idleTimeoutMs: number;
    /** Failed authentications (a token given and refused) per client address per window; 0: unlimited. */
    authFailureLimit: number;
    authFailureWindowMs: number;
    /** How long a known token keeps authenticating from memory while the database is away. */
    authStaleIfErrorMs: number;
    /** Load shedding: 503 when the mean event-loop delay over a second passes this (0: off). */
    shedEventLoopDelayMs: number;
    /** Load shedding: 503 when the V8 heap in use passes this percentage of its limit (0: off). */
    shedHeapPercent: number;
  };
  /** Seed demo data (instruments, demo users) on first start against an empty database. */
  seedDemo: boolean;
  /** Trading days of 1-minute history `tachyon start` seeds when the bar tables are empty (0: none). */
  seedDays: number;
  /** Load-test guardrails (src/loadtest), for the CLI and the admin API alike. */
  loadtest: {
    /** Host names a load test may target (`*` = any); loopback by default so a typo cannot load someone else's server. */
    allowedHosts: string[];
    maxDurationMs: number;
    /** Highest arrival rate (iterations per second). */
    maxRate: number;
  };
  /** Tiered cache and HTTP response optimizations (src/cache). */
  cache: {
    /** Key prefix in L1 and Redis: instances sharing it share entries and invalidations. */
    prefix: string;
    l1MaxBytes: number;
    l1MaxEntries: number;
    /** Timeout of every L2 (Redis) command; past it the read is a miss. */
    l2TimeoutMs: number;
    /** How long the Redis circuit stays open after repeated failures. */
    l2BreakMs: number;
    compressAboveBytes: number;
    lockTtlMs: number;
    writeBehindMs: number;
    /** Freshness per data class in ms (TACHYON_CACHE_TTL_<CLASS>); absent ones keep the seed defaults. */
    ttlMs: Record<string, number>;
    /** L1 admission per data class (TACHYON_CACHE_EVICTION_<CLASS>: lru or lfu); defaults in src/cache/policies.ts. */
    eviction: Record<DataClass, Eviction>;
    /** Most GET sub-requests POST /api/batch runs in one call. */
    batchMaxRequests: number;
    /** Responses smaller than this are not compressed. */
    compressResponsesAboveBytes: number;
    /** Warming before readiness (src/cache/warmer.ts): most traded symbols' bars, recent strategy performances, deadline. */
    warm: { symbols: number; strategies: number; timeoutMs: number };
  };
  /** Bearer token a Prometheus server may use for /metrics (admin tokens work too). */
  metricsToken: string | undefined;
  /** Alert notifications are POSTed here (Slack-compatible body); a secret, like Slack's webhook URLs. */
  alertWebhookUrl: string | undefined;
  /** Observability (src/observability): scraping, tracing, logs, in-process alerting. */
  observability: {
    /** A separate port serving only /metrics, without a token (for a network-restricted scrape); 0 picks one. */
    metricsPort: number | undefined;
    /** Requests slower than this are logged. */
    slowRequestMs: number;
    /** Fraction of new traces sampled (OTEL_TRACES_SAMPLER_ARG); callers' sampled traceparents are kept. */
    traceSampleRatio: number;
    /** OTLP/HTTP collector (OTEL_EXPORTER_OTLP_ENDPOINT); without it the slowest traces stay in memory. */
    otlpEndpoint: string | undefined;
    /** Slowest recent traces kept in memory. */
    traceBufferSize: number;
    alertIntervalMs: number;
    /** Memory budget per instance the memory alert compares RSS with. */
    memoryLimitBytes: number;
    /** Enables the admin fault-injection routes (added latency or errors per route class). */
    faultInjection: boolean;
    /** Faults in force from the start (TACHYON_FAULTS, `class:latencyMs[:errorRate]`, comma-separated); implies faultInjection. */
    faults: Array<{ routeClass: string; latencyMs: number; errorRate: number }>;
  };
  /** Durable event stream of account events (src/stream): Redis Streams with REDIS_URL, in memory otherwise. */
  stream: {
    /** Redis key prefix; undefined: `<realtime.busChannel>:stream:` (instances sharing the bus share the stream). */
    prefix: string | undefined;
    partitions: number;
    /** Events kept per channel (one account's orders, or its portfolio) for WebSocket recovery. */
    historySize: number;
    /** Events older than this are not replayed; an instance away longer misses them. */
    retentionMs: number;
    /** Entries kept per partition log (approximately). */
    logMaxLen: number;
    /** Events waiting while Redis is away; beyond, new ones are dropped (logged, `tachyon_stream_dropped_total`). */
    bufferLimit: number;
    /** Checkpoint name: a restart with the same name resumes reading where it stopped. Default `<hostname>:<PORT>` (none with PORT=0). */
    consumer: string | undefined;
  };
  /** Month partitions of bars_1m and the trading ledger (src/db/partition-maintenance.ts). */
  partitions: {
    /** Months created ahead of the current one. */
    aheadMonths: number;
    /** Months older than this are detached into the archive schema; 0 keeps every month attached. */
    archiveAfterMonths: number;
    intervalMs: number;
  };
  /** WebSocket gateway (src/realtime); the figures behind the defaults are in docs/benchmarks.md. */
  realtime: {
    /** Each connection gets at most one batched frame per interval. */
    flushIntervalMs: number;
    /** Idle connections are pinged after this long; the client is told it in the welcome frame. */
    heartbeatMs: number;
    /** A connection silent (no frame, no pong) for this long is reaped. */
    heartbeatTimeoutMs: number;
    /** Time allowed for the `auth` message when the upgrade carried no Authorization header. */
    authTimeoutMs: number;
    deflate: boolean;
    /** Frames smaller than this are sent uncompressed even with deflate on. */
    deflateThresholdBytes: number;
    maxConnectionsPerUser: number;
    maxSubscriptionsPerConnection: number;
    /** Largest client message answered with an error frame; far larger ones close with 1009. */
    maxMessageBytes: number;
    maxMessagesPerSecond: number;
    /** Subscribe snapshots one connection may read per second (each may be a store query); beyond, `rate_limited`. */
    maxSnapshotsPerSecond: number;
    /** Above this many unsent bytes a connection gets only private events; quotes wait, conflated. */
    sendBufferSoftBytes: number;
    /** Above this, or above the soft limit for slowConsumerMs, the connection is closed (4008; 1008 when replies to its own frames pass it). */
    sendBufferHardBytes: number;
    slowConsumerMs: number;
    /** Redis pub/sub channel the bus bridge uses with REDIS_URL (instances sharing it see each other's events). */
    busChannel: string;
  };
  /** Trading (src/trading): default risk limits (`accounts.limits` overrides them per account) and group commit. */
  trading: {
    /** Largest order notional in units (1/10,000 of the currency). */
    maxOrderNotional: number;
    maxPositionQuantity: number;
    collarBps: number;
    maxOrdersPerSecond: number;
    /** Group commit: flush at once at this many rows, else after at most `commitMaxWaitMs` (0: next event-loop turn). */
    commitMaxBatchRows: number;
    commitMaxWaitMs: number;
    /** Equity-curve snapshot interval. */
    snapshotIntervalMs: number;
    /** When the paper broker matches a new order: during submission, or on a later event-loop turn as a remote broker would. */
    paperFills: 'immediate' | 'deferred';
  };
  /** Account ownership across instances (src/cluster): shard leases in PostgreSQL. */
  cluster: {
    /** Account shards (shard = account id mod shards); every instance on one database must agree. */
    shards: number;
    /** How long a shard lease lives unless renewed (renewed every third of it). */
    leaseTtlMs: number;
    /** Where other instances reach this one for forwarded commands; derived from HOST and PORT when unset. */
    internalUrl: string | undefined;
    /** How long a forwarded command waits for the owner before answering 503. */
    forwardTimeoutMs: number;
  };
  /** Analysis (src/analysis): worker pool, task queue, backtest limits, strategy performance refresh. */
  analysis: {
    /** Worker threads for backtests and large forecasts; 0 = one per core. */
    threads: number;
    /** Old-generation heap limit per worker thread. */
    workerMemoryMb: number;
    /** A worker thread idle this long is stopped (threads start on demand). */
    workerIdleMs: number;
    /** Deadline of one computation in the pool (an inline backtest's request waits at most this). */
    taskTimeoutMs: number;
    /** Handler calls (batches) the task queue runs at once per instance. */
    queueConcurrency: number;
    /** BullMQ key prefix with REDIS_URL (instances sharing it share the queue). */
    queuePrefix: string;
    /** symbols × bars above which a backtest is refused (422). */
    maxSymbolBars: number;
    /** symbols × bars up to which a backtest answers inline; above, it is queued (202). */
    inlineSymbolBars: number;
    /** How often strategies whose symbols got new bars are recomputed. */
    performanceRefreshMs: number;
    /** Per user and instance: backtests and forecasts in progress, tasks unfinished (429 with Retry-After beyond). */
    userLimits: { backtests: number; predictions: number; tasks: number };
  };
  /** The database advisor (src/advisor): plan sampling of slow statements and index advice. */
  advisor: {
    planThresholdMs: number;
    planMinIntervalMs: number;
    planPerStatementMs: number;
    plansKept: number;
    minCostReduction: number;
    scratchMaxRows: number;
  };
  /** Profiling sessions and leak detection (src/profiling), admin only. */
  profiling: ProfilingConfig & {
    /** The leak watch; its snapshot size cap and directory are the sessions' own. */
    leak: Omit<LeakWatchConfig, 'maxSnapshotBytes' | 'dir'>;
  };
}

type Env = Record<string, string | undefined>;

/**
 * The default memory budget (TACHYON_MEMORY_LIMIT_MB): what bench:memory measured the default embedded
 * configuration at, first start and seeding included, plus headroom below the 80% alert line
 * (docs/benchmarks.md "Memory"), so an idle demo never alerts.
 */
const DEFAULT_MEMORY_LIMIT_MB = 576;
/**
 * The L1's default bound in entries: its byte bound over this. lru-cache allocates its index arrays for the
 * whole bound at construction (~40 bytes an entry: 200,000 entries held 7.7 MiB of an idle heap), and the
 * cached values (bar series, pages, portfolios) average hundreds of bytes, so the byte bound decides first.
 */
const L1_BYTES_PER_ENTRY = 512;

const SECRET_KEYS = new Set(['demoToken', 'adminToken', 'metricsToken', 'alertWebhookUrl']);

export function loadConfig(env: Env = process.env): TachyonConfig {
  const source = { ...readConfigFile(env), ...definedOnly(env) };
  const read = new Reader(source);
  const memoryLimitBytes = read.int('TACHYON_MEMORY_LIMIT_MB', DEFAULT_MEMORY_LIMIT_MB, 16, 1_048_576) * 1_048_576;
  // Sized from the budget: the L1 is the one memory consumer that grows with traffic (1/16: 36 MiB of the default 576 MiB).
  const l1MaxBytes = read.int('TACHYON_CACHE_L1_BYTES', Math.max(1_048_576, Math.floor(memoryLimitBytes / 16)), 1_048_576, 16 * 1024 * 1_048_576);
  const config: TachyonConfig = {
    port: read.int('PORT', 3000, 0, 65535),
    // Loopback unless asked: the demo prints funded and admin tokens (HOST=0.0.0.0 exposes it).
    host: read.string('HOST', '127.0.0.1'),
    dataDir: resolve(read.string('TACHYON_DATA_DIR', './data')),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseReplicaUrls: read.urlList('DATABASE_REPLICA_URLS', ['postgres:', 'postgresql:']),
    databasePoolSize: read.int('DATABASE_POOL_SIZE', 20, 1, 1000),
    databaseStatementTimeoutMs: read.int('DATABASE_STATEMENT_TIMEOUT_MS', 5_000, 100, 3_600_000),
    databasePooler: read.oneOf('DATABASE_POOLER', ['none', 'transaction'], 'none'),
    databaseReplicaMaxLagMs: read.int('DATABASE_REPLICA_MAX_LAG_MS', 5_000, 0, 3_600_000),
    databaseThread: read.bool('TACHYON_DB_THREAD', true),
    databaseWasmOptimize: read.bool('TACHYON_DB_WASM_OPTIMIZE', true),
    mallocMmapThresholdBytes: mallocThreshold(read, source),
    redisUrl: read.redisUrl(),
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    demoToken: read.token('TACHYON_DEMO_TOKEN'),
    adminToken: read.token('TACHYON_ADMIN_TOKEN'),
    flags: read.flags('TACHYON_FLAGS'),
    market: {
      instruments: read.int('TACHYON_INSTRUMENTS', 2000, 1, 100_000),
      tickRate: read.int('TACHYON_TICK_RATE', 2000, 0, 1_000_000),
      hours: read.oneOf('TACHYON_MARKET_HOURS', ['always', 'exchange'], 'always'),
      seed: read.int('TACHYON_SEED', 42, 0, 2 ** 31 - 1),
      leaderTtlMs: read.int('TACHYON_FEED_LEASE_TTL_MS', 3_000, 500, 60_000),
      bookTtlMs: read.int('TACHYON_BOOK_SNAPSHOT_TTL_MS', 3_600_000, 1_000, 7 * 86_400_000),
    },
    http: {
      bodyLimitBytes: read.int('TACHYON_BODY_LIMIT', 1_048_576, 1024, 64 * 1_048_576),
      rateLimitPerSecond: read.int('TACHYON_RATE_LIMIT', 1000, 0, 1_000_000),
      shutdownTimeoutMs: read.int('TACHYON_SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
      // Only a server deployment sits behind a load balancer; embedded `npm start` stops at once.
      drainDelayMs: read.int('TACHYON_DRAIN_DELAY_MS', source.DATABASE_URL ? 2_000 : 0, 0, 600_000),
      trustProxy: read.bool('TACHYON_TRUST_PROXY', false),
      requestTimeoutMs: read.int('TACHYON_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
      headersTimeoutMs: read.int('TACHYON_HEADERS_TIMEOUT_MS', 10_000, 100, 3_600_000),
      idleTimeoutMs: read.int('TACHYON_IDLE_TIMEOUT_MS', 120_000, 0, 86_400_000),
      authFailureLimit: read.int('TACHYON_AUTH_FAILURE_LIMIT', 30, 0, 1_000_000),
      authFailureWindowMs: read.int('TACHYON_AUTH_FAILURE_WINDOW_MS', 60_000, 100, 86_400_000),
      authStaleIfErrorMs: read.int('TACHYON_AUTH_STALE_IF_ERROR_MS', 600_000, 0, 86_400_000),
      shedEventLoopDelayMs: read.int('TACHYON_SHED_EVENT_LOOP_DELAY_MS', 50, 0, 60_000),
      shedHeapPercent: read.int('TACHYON_SHED_HEAP_PERCENT', 90, 0, 100),
    },
    seedDemo: read.bool('TACHYON_SEED_DEMO', true),
    seedDays: read.int('TACHYON_SEED_DAYS', 2, 0, 3650),
    loadtest: {
      allowedHosts: read.list('TACHYON_LOADTEST_ALLOWED_HOSTS', ['localhost', '127.0.0.1', '::1', '[::1]']),
      maxDurationMs: read.int('TACHYON_LOADTEST_MAX_DURATION', 1800, 1, 7 * 86_400) * 1000,
      maxRate: read.int('TACHYON_LOADTEST_MAX_RATE', 20_000, 1, 1_000_000),
    },
    cache: {
      prefix: read.string('TACHYON_CACHE_PREFIX', 'tachyon:cache'),
      l1MaxBytes,
      l1MaxEntries: read.int('TACHYON_CACHE_L1_ENTRIES', Math.max(1_000, Math.floor(l1MaxBytes / L1_BYTES_PER_ENTRY)), 100, 10_000_000),
      l2TimeoutMs: read.int('TACHYON_CACHE_L2_TIMEOUT_MS', 50, 1, 10_000),
      l2BreakMs: read.int('TACHYON_CACHE_L2_BREAK_MS', 5_000, 100, 600_000),
      compressAboveBytes: read.int('TACHYON_CACHE_COMPRESS_ABOVE', 4096, 64, 64 * 1_048_576),
      lockTtlMs: read.int('TACHYON_CACHE_LOCK_TTL_MS', 2_000, 50, 60_000),
      writeBehindMs: read.int('TACHYON_CACHE_WRITE_BEHIND_MS', 1_000, 10, 600_000),
      ttlMs: Object.fromEntries(
        DATA_CLASSES.map((c) => [c, read.int(`TACHYON_CACHE_TTL_${c.replace(/[A-Z]/g, (l) => '_' + l).toUpperCase()}`, 0, 0, 7 * 86_400_000)])
          .filter(([, v]) => v !== 0),
      ),
      eviction: Object.fromEntries(
        DATA_CLASSES.map((c) => [c, read.oneOf(`TACHYON_CACHE_EVICTION_${c.replace(/[A-Z]/g, (l) => '_' + l).toUpperCase()}`, EVICTIONS, DEFAULT_POLICIES[c].eviction)]),
      ) as Record<DataClass, Eviction>,
      batchMaxRequests: read.int('TACHYON_BATCH_MAX', 20, 1, 1000),
      compressResponsesAboveBytes: read.int('TACHYON_COMPRESS_ABOVE', 1024, 0, 64 * 1_048_576),
      warm: {
        symbols: read.int('TACHYON_CACHE_WARM_SYMBOLS', 50, 0, 10_000),
        strategies: read.int('TACHYON_CACHE_WARM_STRATEGIES', 200, 0, 100_000),
        timeoutMs: read.int('TACHYON_CACHE_WARM_TIMEOUT_MS', 30_000, 0, 600_000),
      },
    },
    metricsToken: read.token('METRICS_TOKEN'),
    alertWebhookUrl: read.url('TACHYON_ALERT_WEBHOOK_URL', ['http:', 'https:']),
    observability: {
      metricsPort: read.optionalInt('METRICS_PORT', 0, 65535),
      slowRequestMs: read.int('TACHYON_SLOW_REQUEST_MS', 250, 0, 600_000),
      traceSampleRatio: read.fraction('OTEL_TRACES_SAMPLER_ARG', 1),
      otlpEndpoint: read.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
      traceBufferSize: read.int('TACHYON_TRACE_BUFFER', 50, 1, 10_000),
      alertIntervalMs: read.int('TACHYON_ALERT_INTERVAL_MS', 15_000, 100, 3_600_000),
      memoryLimitBytes,
      faultInjection: read.bool('TACHYON_FAULT_INJECTION', false) || source.TACHYON_FAULTS !== undefined,
      faults: read.faults('TACHYON_FAULTS'),
    },
    stream: {
      prefix: read.optionalString('TACHYON_STREAM_PREFIX'),
      partitions: read.int('TACHYON_STREAM_PARTITIONS', 16, 1, 1024),
      historySize: read.int('TACHYON_STREAM_HISTORY', 1_000, 1, 1_000_000),
      retentionMs: read.int('TACHYON_STREAM_RETENTION_MS', 600_000, 1_000, 7 * 86_400_000),
      logMaxLen: read.int('TACHYON_STREAM_LOG_MAXLEN', 20_000, 100, 10_000_000),
      bufferLimit: read.int('TACHYON_STREAM_BUFFER', 100_000, 1, 10_000_000),
      consumer: read.optionalString('TACHYON_STREAM_CONSUMER'),
    },
    partitions: {
      aheadMonths: read.int('TACHYON_PARTITIONS_AHEAD_MONTHS', 2, 1, 24),
      archiveAfterMonths: read.int('TACHYON_PARTITIONS_ARCHIVE_AFTER_MONTHS', 0, 0, 1200),
      intervalMs: read.int('TACHYON_PARTITIONS_INTERVAL_MS', 3_600_000, 1_000, 86_400_000),
    },
    realtime: {
      flushIntervalMs: read.int('TACHYON_WS_FLUSH_MS', 20, 1, 1000),
      heartbeatMs: read.int('TACHYON_WS_HEARTBEAT_MS', 15_000, 100, 600_000),
      heartbeatTimeoutMs: read.int('TACHYON_WS_HEARTBEAT_TIMEOUT_MS', 45_000, 200, 1_800_000),
      authTimeoutMs: read.int('TACHYON_WS_AUTH_TIMEOUT_MS', 5_000, 100, 120_000),
      deflate: read.bool('TACHYON_WS_DEFLATE', false),
      deflateThresholdBytes: read.int('TACHYON_WS_DEFLATE_THRESHOLD', 1024, 0, 16 * 1_048_576),
      maxConnectionsPerUser: read.int('TACHYON_WS_MAX_CONNECTIONS_PER_USER', 100, 1, 1_000_000),
      maxSubscriptionsPerConnection: read.int('TACHYON_WS_MAX_SUBSCRIPTIONS', 500, 1, 100_000),
      maxMessageBytes: read.int('TACHYON_WS_MAX_MESSAGE_BYTES', 16_384, 256, 1_048_576),
      maxMessagesPerSecond: read.int('TACHYON_WS_MAX_MESSAGES_PER_SECOND', 50, 1, 100_000),
      maxSnapshotsPerSecond: read.int('TACHYON_WS_MAX_SNAPSHOTS_PER_SECOND', 500, 1, 100_000),
      sendBufferSoftBytes: read.int('TACHYON_WS_SEND_BUFFER_SOFT', 256 * 1024, 1024, 1_073_741_824),
      sendBufferHardBytes: read.int('TACHYON_WS_SEND_BUFFER_HARD', 4 * 1_048_576, 1024, 1_073_741_824),
      slowConsumerMs: read.int('TACHYON_WS_SLOW_CONSUMER_MS', 10_000, 10, 600_000),
      busChannel: read.string('TACHYON_BUS_CHANNEL', 'tachyon:bus'),
    },
    trading: {
      maxOrderNotional: read.int('TACHYON_RISK_MAX_ORDER_NOTIONAL', 1_000_000, 1, 10_000_000_000) * 10_000,
      maxPositionQuantity: read.int('TACHYON_RISK_MAX_POSITION', 1_000_000, 1, 1_000_000_000),
      collarBps: read.int('TACHYON_RISK_COLLAR_BPS', 1_000, 1, 10_000),
      maxOrdersPerSecond: read.int('TACHYON_RISK_MAX_ORDERS_PER_SECOND', 200, 1, 1_000_000),
      commitMaxBatchRows: read.int('TACHYON_COMMIT_MAX_BATCH_ROWS', 20_000, 1, 1_000_000),
      commitMaxWaitMs: read.int('TACHYON_COMMIT_MAX_WAIT_MS', 0, 0, 1_000),
      snapshotIntervalMs: read.int('TACHYON_SNAPSHOT_INTERVAL_MS', 60_000, 1_000, 86_400_000),
      paperFills: read.oneOf('TACHYON_PAPER_FILLS', ['immediate', 'deferred'], 'immediate'),
    },
    cluster: {
      shards: read.int('TACHYON_SHARDS', 256, 1, 65_536),
      leaseTtlMs: read.int('TACHYON_LEASE_TTL_MS', 5_000, 300, 600_000),
      internalUrl: read.url('TACHYON_INTERNAL_URL', ['http:', 'https:']),
      forwardTimeoutMs: read.int('TACHYON_FORWARD_TIMEOUT_MS', 2_000, 50, 60_000),
    },
    analysis: {
      threads: read.int('TACHYON_ANALYSIS_THREADS', 0, 0, 256),
      workerMemoryMb: read.int('TACHYON_ANALYSIS_WORKER_MEMORY_MB', 512, 32, 65_536),
      workerIdleMs: read.int('TACHYON_ANALYSIS_WORKER_IDLE_MS', 30_000, 100, 86_400_000),
      taskTimeoutMs: read.int('TACHYON_ANALYSIS_TASK_TIMEOUT_MS', 30_000, 100, 3_600_000),
      queueConcurrency: read.int('TACHYON_ANALYSIS_QUEUE_CONCURRENCY', 2, 1, 1_000),
      queuePrefix: read.string('TACHYON_ANALYSIS_QUEUE_PREFIX', 'tachyon:tasks'),
      maxSymbolBars: read.int('TACHYON_ANALYSIS_MAX_SYMBOL_BARS', 5_000_000, 1, 1_000_000_000),
      inlineSymbolBars: read.int('TACHYON_ANALYSIS_INLINE_SYMBOL_BARS', 600_000, 0, 1_000_000_000),
      performanceRefreshMs: read.int('TACHYON_ANALYSIS_PERFORMANCE_REFRESH_MS', 60_000, 100, 86_400_000),
      userLimits: {
        backtests: read.int('TACHYON_ANALYSIS_USER_BACKTESTS', 2, 1, 10_000),
        predictions: read.int('TACHYON_ANALYSIS_USER_PREDICTIONS', 4, 1, 10_000),
        tasks: read.int('TACHYON_ANALYSIS_USER_TASKS', 10, 1, 1_000_000),
      },
    },
    advisor: {
      planThresholdMs: read.int('TACHYON_PLAN_THRESHOLD_MS', 100, 1, 3_600_000),
      planMinIntervalMs: read.int('TACHYON_PLAN_MIN_INTERVAL_MS', 10_000, 0, 3_600_000),
      planPerStatementMs: read.int('TACHYON_PLAN_PER_STATEMENT_MS', 300_000, 0, 86_400_000),
      plansKept: read.int('TACHYON_PLANS_KEPT', 3, 1, 100),
      minCostReduction: read.fraction('TACHYON_ADVISOR_MIN_COST_REDUCTION', 0.5),
      scratchMaxRows: read.int('TACHYON_ADVISOR_SCRATCH_MAX_ROWS', 1_000_000, 0, 1_000_000_000),
    },
    profiling: {
      dir: resolve(read.string('TACHYON_PROFILE_DIR', join(tmpdir(), 'tachyon-profiles'))),
      maxDurationMs: read.int('TACHYON_PROFILE_MAX_DURATION_MS', 120_000, 100, 3_600_000),
      maxSnapshotBytes: read.int('TACHYON_PROFILE_MAX_SNAPSHOT_MB', 512, 1, 65_536) * 1_048_576,
      keep: read.int('TACHYON_PROFILE_KEEP', 20, 1, 1000),
      cpuSamplingIntervalUs: read.int('TACHYON_PROFILE_CPU_INTERVAL_US', 1000, 50, 1_000_000),
      heapSamplingIntervalBytes: read.int('TACHYON_PROFILE_HEAP_INTERVAL_BYTES', 32_768, 512, 16 * 1_048_576),
      leak: {
        windowMs: read.int('TACHYON_LEAK_WINDOW_MS', 15 * 60_000, 1_000, 86_400_000),
        minSamples: read.int('TACHYON_LEAK_MIN_SAMPLES', 10, 3, 100_000),
        minGrowthBytesPerMinute: read.int('TACHYON_LEAK_MIN_GROWTH_BYTES_PER_MIN', 1_048_576, 1, 1_073_741_824),
        minR2: read.fraction('TACHYON_LEAK_MIN_R2', 0.8),
        snapshots: read.bool('TACHYON_LEAK_SNAPSHOTS', true),
        snapshotGapMs: read.int('TACHYON_LEAK_SNAPSHOT_GAP_MS', 30_000, 0, 3_600_000),
        snapshotCooldownMs: read.int('TACHYON_LEAK_SNAPSHOT_COOLDOWN_MS', 3_600_000, 0, 86_400_000),
      },
    },
  };
  read.throwIfInvalid();
  return config;
}

/** Builds a configuration for tests and tools: defaults, then the given overrides. */
export function testConfig(overrides: Partial<TachyonConfig> = {}): TachyonConfig {
  // No load shedding by default: test machines are shared and noisy, and a stall there is not overload.
  const base = loadConfig({ LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', TACHYON_TICK_RATE: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0' });
  return {
    ...base,
    ...overrides,
    market: { ...base.market, ...overrides.market },
    http: { ...base.http, ...overrides.http },
    cache: { ...base.cache, ...overrides.cache },
    observability: { ...base.observability, ...overrides.observability },
    realtime: { ...base.realtime, ...overrides.realtime },
    stream: { ...base.stream, ...overrides.stream },
    partitions: { ...base.partitions, ...overrides.partitions },
    trading: { ...base.trading, ...overrides.trading },
    cluster: { ...base.cluster, ...overrides.cluster },
    analysis: { ...base.analysis, ...overrides.analysis },
    advisor: { ...base.advisor, ...overrides.advisor },
    profiling: { ...base.profiling, ...overrides.profiling },
  };
}

/** The effective configuration with secrets (tokens, URL passwords) replaced, for printing and logs. */
export function redactConfig(config: TachyonConfig | Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SECRET_KEYS.has(key)) out[key] = value === undefined ? undefined : '[redacted]';
    else if (typeof value === 'string' && /^[a-z]+:\/\//.test(value)) out[key] = redactUrl(value);
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'string' && /^[a-z]+:\/\//.test(v) ? redactUrl(v) : v));
    // Nested sections (observability's OTLP endpoint, …) may hold URLs with credentials too.
    else if (value !== null && typeof value === 'object') out[key] = redactConfig(value as Record<string, unknown>);
    else out[key] = value;
  }
  return out;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[redacted]';
  }
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function readConfigFile(env: Env): Record<string, string> {
  const path = env.TACHYON_CONFIG_FILE;
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`TACHYON_CONFIG_FILE: cannot read ${path} as JSON (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('TACHYON_CONFIG_FILE: expected a JSON object of VARIABLE: value');
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/** TACHYON_MALLOC_MMAP_THRESHOLD: see TachyonConfig. */
function mallocThreshold(read: Reader, env: Record<string, string>): number | undefined {
  const name = 'TACHYON_MALLOC_MMAP_THRESHOLD';
  const raw = env[name] ?? 'auto';
  if (raw === 'auto') return env.DATABASE_URL || tunablesSetThreshold(env) ? undefined : MALLOC_MMAP_THRESHOLD_BYTES;
  if (raw === 'glibc') return undefined;
  return read.intOr(name, ['auto', 'glibc'], 4096, MALLOC_MMAP_THRESHOLD_MAX_BYTES);
}

class Reader {
  private readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string>) {}

  private fail(name: string, accepts: string): void {
    this.problems.push(`${name}="${this.env[name]}" is invalid: expected ${accepts}`);
  }

  string(name: string, fallback: string): string {
    return this.env[name] ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.env[name] || undefined;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      this.fail(name, `an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** An integer from min to max (else undefined) where `keywords` (handled by the caller) are accepted too. */
  intOr(name: string, keywords: string[], min: number, max: number): number | undefined {
    const raw = this.env[name];
    const value = Number(raw);
    if (raw !== undefined && /^\d+$/.test(raw) && value >= min && value <= max) return value;
    if (raw !== undefined) this.fail(name, `${keywords.join(', ')} or an integer from ${min} to ${max}`);
    return undefined;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.env[name] === undefined ? undefined : this.int(name, min, min, max);
  }

  fraction(name: string, fallback: number): number {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !(value >= 0 && value <= 1)) {
      this.fail(name, 'a number from 0 to 1');
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.fail(name, 'true or false');
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    this.fail(name, `one of ${values.join(', ')}`);
    return fallback;
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.env[name];
    if (raw === undefined) return undefined;
    if (!this.isUrl(raw, protocols)) this.fail(name, `a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`);
    return raw;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    const items = raw.split(',').map((v) => v.trim()).filter(Boolean);
    if (items.length === 0) this.fail(name, 'a comma-separated list');
    return items.length > 0 ? items : fallback;
  }

  urlList(name: string, protocols: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined) return [];
    const urls = raw.split(',').map((u) => u.trim()).filter(Boolean);
    if (!urls.every((u) => this.isUrl(u, protocols))) this.fail(name, `comma-separated URLs starting with ${protocols.join(' or ')}//`);
    return urls;
  }

  /** `market-data:50,orders:0:0.05`: route class, added latency in ms, optional error rate. */
  faults(name: string): Array<{ routeClass: string; latencyMs: number; errorRate: number }> {
    const raw = this.env[name];
    if (raw === undefined) return [];
    const faults = raw.split(',').map((item) => /^([a-z0-9-]+):(\d{1,5})(?::(0|1|0?\.\d+))?$/.exec(item.trim()));
    if (faults.some((m) => m === null)) {
      this.fail(name, 'comma-separated route-class:latencyMs[:errorRate] (e.g. market-data:50,orders:0:0.05)');
      return [];
    }
    return faults.map((m) => ({ routeClass: m![1]!, latencyMs: Number(m![2]), errorRate: Number(m![3] ?? 0) }));
  }

  token(name: string): string | undefined {
    const raw = this.env[name];
    if (raw === undefined) return undefined;
    if (!/^[A-Za-z0-9_\-.]{16,200}$/.test(raw)) this.problems.push(`${name} is invalid: expected 16 to 200 characters of A-Z a-z 0-9 _ - .`);
    return raw;
  }

  /** REDIS_URL: one node (`redis://`, `rediss://`) or a cluster (`redis+cluster://host:port,…`, or its seed nodes in TACHYON_REDIS_CLUSTER_NODES). */
  redisUrl(): string | undefined {
    const nodes = this.env.TACHYON_REDIS_CLUSTER_NODES;
    const raw = this.env.REDIS_URL ?? (nodes === undefined ? undefined : clusterUrl(nodes.split(',').map((n) => n.trim())));
    if (raw === undefined || !raw.startsWith('redis+cluster://')) return this.url('REDIS_URL', ['redis:', 'rediss:']);
    try {
      clusterNodes(raw);
    } catch (error) {
      this.fail(this.env.REDIS_URL === undefined ? 'TACHYON_REDIS_CLUSTER_NODES' : 'REDIS_URL', `redis+cluster://host:port,host:port (${(error as Error).message})`);
    }
    return raw;
  }

  flags(name: string): Record<string, boolean> {
    const raw = this.env[name];
    if (raw === undefined) return {};
    try {
      return parseFlagOverrides(raw);
    } catch {
      this.fail(name, 'a comma-separated list of flag=on|off');
      return {};
    }
  }

  private isUrl(raw: string, protocols: string[]): boolean {
    try {
      return protocols.includes(new URL(raw).protocol);
    } catch {
      return false;
    }
  }

  throwIfInvalid(): void {
    if (this.problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${this.problems.join('\n  - ')}`);
  }
}
