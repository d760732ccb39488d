/**
 * Observability end to end on a whole platform (embedded engine, a manual clock for windows and
 * alert `for` durations, real HTTP for trace propagation and the alert webhook).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, createContextKey } from '@opentelemetry/api';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { mallocTuning } from '../../src/kernel/malloc-tuning.ts';
import { logCorrelation } from '../../src/observability/log-context.ts';
import { CONTEXT_IDLE_MS } from '../../src/observability/observability.ts';
import { PERFORMANCE_PREFIXES } from '../../src/observability/routes.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, DEMO_TOKEN } from '../support/platform.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';
const MINUTE = 60_000;
const trader = { authorization: `Bearer ${DEMO_TOKEN}` };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const QUOTE_SERIES = 'tachyon_http_request_duration_seconds_count{method="GET",route="/api/market-data/quotes/:symbol",status_code="200"}';

describe('observability on a platform', () => {
  const clock = new ManualClock();
  const logLines: string[] = [];
  const webhook: Array<{ text: string }> = [];
  let webhookServer: Server;
  let platform: Platform;
  let address: string;
  let cleanup: () => Promise<void>;
  const inject = (options: InjectOptions) => platform.app.inject(options);

  beforeAll(async () => {
    webhookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        webhook.push(JSON.parse(body) as { text: string });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => webhookServer.listen(0, '127.0.0.1', resolve));
    const opened = await pglite.open();
    cleanup = opened.cleanup;
    const base = testConfig();
    const config = testConfig({
      demoToken: DEMO_TOKEN,
      adminToken: ADMIN_TOKEN,
      metricsToken: METRICS_TOKEN,
      alertWebhookUrl: `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/hook`,
      observability: {
        ...base.observability,
        metricsPort: 0,
        // Every request is "slow", so every request writes a log line the redaction test can read.
        slowRequestMs: 0,
        faultInjection: true,
        // Only the slowest traces are kept: the start's cache warming fills a small buffer with slower ones.
        traceBufferSize: 10_000,
        // The test drives evaluation itself; the memory alert must not fire because of the test runner's RSS.
        alertIntervalMs: 3_600_000,
        memoryLimitBytes: 1024 ** 4,
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    platform = await buildPlatform(config, { db: opened.db, clock, logger: createLogger('info', sink, logCorrelation) });
    address = await platform.listen();
  });

  afterAll(async () => {
    await platform?.stop();
    await cleanup?.();
    webhookServer?.close();
  });

  async function scrape(): Promise<string> {
    const res = await inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    return res.body;
  }
  const valueOf = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1] ?? 0);

  it('counts known traffic by route template and status in Prometheus, with database, pool and runtime series', async () => {
    const before = valueOf(await scrape(), QUOTE_SERIES);
    for (let i = 0; i < 20; i++) expect((await inject({ url: '/api/market-data/quotes/AAPL', headers: trader })).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) await inject({ url: `/api/market-data/quotes/NOPE${i}`, headers: trader });
    await inject({ url: '/api/market-data/bars/AAPL?interval=1m&limit=5', headers: trader });
    const text = await scrape();
    expect(valueOf(text, QUOTE_SERIES) - before).toBe(20);
    expect(valueOf(text, QUOTE_SERIES.replace('"200"', '"404"'))).toBe(3);
    // Route templates, never raw URLs: the symbols do not appear as label values.
    expect(text).not.toMatch(/route="[^"]*(AAPL|NOPE)/);
    expect(text).toContain('tachyon_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/market-data/quotes/:symbol",status_code="200"}');
    expect(text).toMatch(/tachyon_db_query_duration_seconds_count\{statement="[^"]+",target="primary",outcome="ok"\} \d+/);
    for (const series of ['tachyon_db_pool_in_use', 'tachyon_db_pool_waiting', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'tachyon_cpu_cores', 'tachyon_network_open_connections', 'tachyon_network_received_bytes_total']) {
      expect(text).toContain(`\n${series}`);
    }
  });

  it('restricts /metrics to METRICS_TOKEN or admins, and serves it unauthenticated on the separate port', async () => {
    expect((await inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await inject({ url: '/metrics', headers: trader })).statusCode).toBe(403);
    expect((await inject({ url: '/metrics', headers: admin })).statusCode).toBe(200);
    const res = await fetch(`${platform.observability.scrapeAddress}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('tachyon_http_request_duration_seconds_bucket');
  });

  it('serves the performance API to admins only, naming the instance', async () => {
    expect((await inject({ url: '/api/performance/metrics', headers: trader })).statusCode).toBe(403);
    const metrics = (await inject({ url: '/api/performance/metrics', headers: admin })).json();
    expect(metrics.instance).toEqual({ id: platform.instanceId, hostname: expect.any(String), pid: process.pid });
    expect(metrics.http['1m']).toMatchObject({ count: expect.any(Number), p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number), max: expect.any(Number), ratePerSecond: expect.any(Number), errorRatio: 0 });
    expect(metrics.http['1m'].count).toBeGreaterThanOrEqual(24);
    expect(metrics.routes.map((r: { route: string }) => r.route)).toContain('/api/market-data/quotes/:symbol');
    const cpu = (await inject({ url: '/api/performance/metrics/cpu', headers: admin })).json();
    expect(cpu).toMatchObject({ cores: expect.any(Number), cpuSeconds: { user: expect.any(Number), system: expect.any(Number) } });
    const memory = (await inject({ url: '/api/performance/metrics/memory', headers: admin })).json();
    expect(memory).toMatchObject({ rssBytes: expect.any(Number), heapUsedBytes: expect.any(Number), externalBytes: expect.any(Number), gc: expect.any(Object) });
    // The budget and what holds memory: the main heap by space, the engine's WebAssembly memory, threads, the L1 cache.
    expect(memory.limitBytes).toBe(platform.config.observability.memoryLimitBytes);
    expect(memory.consumers.mainHeap.residentBytes).toBeGreaterThan(memory.consumers.mainHeap.codeBytes);
    expect(memory.consumers.database.wasmMemoryBytes).toBeGreaterThan(16 * 2 ** 20);
    expect(memory.consumers.analysisThreads).toEqual({ threads: platform.analysis.pool.stats().threads });
    expect(memory.consumers.cacheL1).toEqual({ usedBytes: expect.any(Number), limitBytes: platform.config.cache.l1MaxBytes });
    // The allocator setting the process started with (this test process: whatever its environment says).
    expect(memory.malloc).toEqual(mallocTuning());
    const network = (await inject({ url: '/api/performance/metrics/network', headers: admin })).json();
    expect(network).toMatchObject({ openConnections: expect.any(Number), receivedBytes: expect.any(Number), http: { '5m': { ratePerSecond: expect.any(Number) } } });
    const database = (await inject({ url: '/api/performance/metrics/database', headers: admin })).json();
    expect(database).toMatchObject({ engine: 'embedded', queries: { '5m': { count: expect.any(Number) } }, pool: expect.any(Object) });
    expect(database.slowestStatements[0]).toMatchObject({ statement: expect.any(String), count: expect.any(Number), p95: expect.any(Number) });
  });

  it('exports the trading engine’s order counters, cache hits and misses by class and tier, and the task queue depth', async () => {
    const rejected = 'tachyon_orders_total{outcome="rejected"}';
    const byReason = 'tachyon_order_rejections_total{reason="invalid_tick_size"}';
    const before = await scrape();
    const res = await inject({ method: 'POST', url: '/api/orders', headers: trader, payload: { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99.999, quantity: 1, timeInForce: 'gtc' } });
    expect(res.statusCode).toBe(422);
    const after = await scrape();
    expect(valueOf(after, rejected) - valueOf(before, rejected)).toBe(1);
    expect(valueOf(after, byReason) - valueOf(before, byReason)).toBe(1);
    for (const series of ['tachyon_orders_total{outcome="accepted"}', 'tachyon_fills_total', 'tachyon_task_queue_depth']) expect(after).toContain(`\n${series} `);
    expect(after).toMatch(/\ntachyon_cache_hits_total\{class="marketSnapshot",tier="l1"\} \d+/);
    expect(after).toMatch(/\ntachyon_cache_misses_total\{class="marketSnapshot",tier="l2"\} \d+/);
  });

  it('answers the performance API under /performance and /api/performance alike, to admins only', async () => {
    const paths = ['/metrics', '/metrics/cpu', '/metrics/memory', '/metrics/network', '/metrics/database', '/traces', '/alerts'];
    for (const prefix of PERFORMANCE_PREFIXES) {
      for (const path of paths) {
        expect((await inject({ url: prefix + path, headers: trader })).statusCode, `${prefix}${path} as a trader`).toBe(403);
        const res = await inject({ url: prefix + path, headers: admin });
        expect(res.statusCode, `${prefix}${path}`).toBe(200);
        expect(res.json().instance.id).toBe(platform.observability.instance.id);
      }
    }
    expect(PERFORMANCE_PREFIXES).toEqual(['/api/performance', '/performance']);
  });

  it('continues the caller’s W3C trace across an HTTP call, with the cache load and database spans inside it', async () => {
    const { tracing } = platform.observability;
    let client: { traceId: string; spanId: string } | undefined;
    await tracing.withSpan('client call', {}, async (span) => {
      client = span!.spanContext();
      // A request no other test makes, so no cache can answer it without the database.
      const res = await fetch(`${address}/api/market-data/bars/MSFT?interval=15m&limit=3`, { headers: { ...trader, ...tracing.inject({}) } });
      expect(res.status).toBe(200);
    });
    const { traces } = (await inject({ url: '/api/performance/traces', headers: admin })).json();
    const served = traces.find((t: { traceId: string; root: string }) => t.traceId === client!.traceId && t.root === 'GET /api/market-data/bars/:symbol');
    expect(served).toBeDefined();
    const server = served.spans.find((s: { name: string }) => s.name === 'GET /api/market-data/bars/:symbol');
    expect(server.parentSpanId).toBe(client!.spanId);
    expect(server.attributes).toMatchObject({ 'http.route': '/api/market-data/bars/:symbol', 'http.response.status_code': 200 });
    // The route's cache miss is a child span of the request; the queries it ran are inside it.
    const load = served.spans.find((s: { name: string }) => s.name === 'cache.load');
    expect(load).toMatchObject({ parentSpanId: server.spanId, attributes: { 'cache.class': expect.any(String) } });
    const queries = served.spans.filter((s: { name: string }) => s.name === 'db.query');
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((s: { parentSpanId: string }) => s.parentSpanId === server.spanId || s.parentSpanId === load.spanId)).toBe(true);
    expect(queries.some((s: { parentSpanId: string }) => s.parentSpanId === load.spanId)).toBe(true);
  });

  it('releases the async-context hooks once no traced request has entered a context for a while', async () => {
    const { observability, flags } = platform;
    await inject({ url: '/api/market-data/quotes/AAPL', headers: { ...trader, traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } });
    const entered = observability.http.lastContextAt;
    expect(entered).toBeGreaterThan(0);
    expect(observability.releaseIdleContext(entered + 1)).toBe(false);
    flags.set('observability.log-context', true);
    expect(observability.releaseIdleContext(entered + CONTEXT_IDLE_MS)).toBe(false);
    flags.set('observability.log-context', false);
    // A context active at the release is gone after it: the hooks really were switched off.
    const marker = createContextKey('marker');
    await context.with(context.active().setValue(marker, 1), async () => {
      expect(context.active().getValue(marker)).toBe(1);
      expect(observability.releaseIdleContext(entered + CONTEXT_IDLE_MS)).toBe(true);
      expect(context.active().getValue(marker)).toBeUndefined();
    });
  });

  it('logs JSON with request and trace ids and never leaks authorization headers, tokens or passwords', async () => {
    await inject({ url: '/api/market-data/quotes/MSFT?token=query-secret-123', headers: { ...admin, cookie: 'session=cookie-secret-456' } });
    platform.logger.info({ req: { headers: { authorization: `Bearer ${DEMO_TOKEN}`, cookie: 'c=cookie-secret-456' } }, user: { password: 'hunter2-password' }, token: DEMO_TOKEN, config: { adminToken: ADMIN_TOKEN, metricsToken: METRICS_TOKEN } }, 'secrets everywhere');
    const text = logLines.join('\n');
    for (const secret of [DEMO_TOKEN, ADMIN_TOKEN, METRICS_TOKEN, 'query-secret-123', 'cookie-secret-456', 'hunter2-password']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    const slow = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'slow request');
    expect(slow.length).toBeGreaterThan(20);
    for (const line of slow) expect(line).toMatchObject({ reqId: expect.any(String), trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), route: expect.any(String), durationMs: expect.any(Number) });
  });

  it('injects errors on a route class, never on the performance routes', async () => {
    expect((await inject({ method: 'PUT', url: '/api/performance/faults/instruments', headers: trader, payload: { errorRate: 1 } })).statusCode).toBe(403);
    expect((await inject({ method: 'PUT', url: '/api/performance/faults/instruments', headers: admin, payload: { errorRate: 1 } })).statusCode).toBe(200);
    const failed = await inject({ url: '/api/instruments?limit=1', headers: trader });
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ detail: 'fault injected on instruments' });
    expect((await inject({ url: '/api/performance/faults', headers: admin })).json().faults).toHaveLength(1);
    expect((await inject({ method: 'DELETE', url: '/api/performance/faults/instruments', headers: admin })).statusCode).toBe(204);
    expect((await inject({ url: '/api/instruments?limit=1', headers: trader })).statusCode).toBe(200);
  });

  it('fires the p95 alert under injected latency after its `for` duration, notifies the webhook, and resolves', async () => {
    const { alerts } = platform.observability;
    // Above the rules' minimum traffic (1 request/s over the 5-minute window).
    const slowTraffic = () => Promise.all(Array.from({ length: 320 }, () => inject({ url: '/api/market-data/quotes/AAPL', headers: trader })));
    const state = () => alerts.activeAlerts().find((a) => a.rule === 'TachyonHighLatencyP95')?.state;
    expect((await inject({ method: 'PUT', url: '/api/performance/faults/market-data', headers: admin, payload: { latencyMs: 80 } })).statusCode).toBe(200);

    await slowTraffic();
    await alerts.evaluate();
    expect(state()).toBe('pending');
    clock.advance(5 * MINUTE);
    await slowTraffic();
    await alerts.evaluate();
    expect(state()).toBe('pending');
    expect(webhook.filter((b) => b.text.includes('TachyonHighLatencyP95'))).toHaveLength(0);
    clock.advance(5 * MINUTE);
    await slowTraffic();
    await alerts.evaluate();
    expect(state()).toBe('firing');
    // Other rules (the latency SLO burn) may react to the same traffic on a loaded machine; this test follows the p95 rule.
    const p95Notifications = () => webhook.map((b) => b.text).filter((t) => t.includes('TachyonHighLatencyP95'));
    expect(p95Notifications()).toEqual([expect.stringMatching(/^\[FIRING\] TachyonHighLatencyP95 \(page\)/)]);

    await inject({ method: 'DELETE', url: '/api/performance/faults/market-data', headers: admin });
    clock.advance(6 * MINUTE);
    await alerts.evaluate();
    expect(state()).toBeUndefined();
    expect(p95Notifications()).toEqual([expect.stringContaining('[FIRING]'), expect.stringMatching(/^\[RESOLVED\] TachyonHighLatencyP95/)]);
    const view = (await inject({ url: '/api/performance/alerts', headers: admin })).json();
    const p95History = view.history.filter((e: { rule: string }) => e.rule === 'TachyonHighLatencyP95');
    expect(p95History.map((e: { state: string }) => e.state)).toEqual(['resolved', 'firing']);
    expect(logLines.some((l) => l.includes('alert firing'))).toBe(true);
  });
});
