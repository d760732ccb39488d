/**
 * The whole platform on a real six-node Redis Cluster (issue 22 item 3): two instances in-process on
 * one PostgreSQL database with `redis+cluster://…` (nodes on ports 18001-18006, instances on 28301
 * and 28302, started here and stopped after). Every part that keeps state in Redis works there: the
 * bus bridge (the follower hears the leader's ticks), order-book snapshots, the L2 cache, the shared
 * rate limits, the BullMQ queue and the event stream. Then a primary is killed while orders and
 * cached reads go to both instances: no acknowledged order is lost, requests fail only between the
 * kill and the cluster's recovery, and every account event appended reaches both instances.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/database.ts';
import { openServer } from '../../src/db/pg.ts';
import { createRedisClient } from '../../src/kernel/redis-client.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import type { StreamStats } from '../../src/stream/event-stream.ts';
import { redisServerInstalled } from '../cache/redis-server.ts';
import { ADMIN_TOKEN, DEMO_TOKEN } from '../support/platform.ts';
import { RedisCluster } from '../support/redis-cluster.ts';
import { createTempDatabase, pgAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const cluster = redisServerInstalled() && (await pgAvailable()) ? await RedisCluster.start(18001) : undefined;
const trader = { authorization: `Bearer ${DEMO_TOKEN}` };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The event stream's counters, as the platform's `stream` metrics collector reports them. */
async function stream(p: Platform): Promise<StreamStats> {
  return (await p.observability.metrics.stats('stream')) as StreamStats;
}

describe.runIf(cluster)('the platform on a six-node Redis Cluster', () => {
  const prefix = redisPrefix('on-cluster');
  let temp: TempDatabase;
  const dbs: Database[] = [];
  let a: Platform;
  let b: Platform;

  const build = async (port: number) => {
    const base = testConfig();
    const config = testConfig({
      demoToken: DEMO_TOKEN,
      adminToken: ADMIN_TOKEN,
      port,
      databaseUrl: temp.url,
      redisUrl: cluster!.url,
      market: { ...base.market, instruments: 20, tickRate: 100, leaderTtlMs: 10_000 },
      // Two platforms, a feed and six Redis nodes share this machine: a 50 ms timeout would trip the breakers.
      cache: { ...base.cache, prefix: `${prefix}cache`, l2TimeoutMs: 1_000 },
      realtime: { ...base.realtime, busChannel: `${prefix}bus` },
      analysis: { ...base.analysis, queuePrefix: `${prefix}tasks` },
    });
    const db = await openServer({ url: temp.url, poolSize: 5 });
    dbs.push(db);
    const platform = await buildPlatform(config, { db });
    // The same handler on both: either instance's worker may take the task.
    platform.analysis.queue.register<{ n: number }, number>({ type: 'cluster.double', handler: async (tasks) => tasks.map((t) => t.payload.n * 2) });
    return platform;
  };

  beforeAll(async () => {
    temp = await createTempDatabase('oncluster');
    a = await build(28301);
    await a.listen();
    b = await build(28302);
    await b.listen();
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(dbs.map((db) => db.close()));
    await temp?.drop();
    await cluster?.stop();
  });

  it('bus bridge, book snapshots, L2 cache, rate limits, queue and event stream all work on the cluster', async () => {
    // Bridge: one leader, and the follower hears its ticks.
    expect(a.marketData.status().role).toBe('leader');
    expect(b.marketData.status().role).toBe('follower');
    await expect.poll(() => b.marketData.status().lastTickAgeMs, { timeout: 10_000 }).toBeDefined();

    // Book snapshots: the follower's book route answers from the cluster.
    const symbol = a.marketData.instruments[0]!.symbol;
    await expect.poll(async () => (await b.app.inject({ url: `/api/market-data/book/${symbol}`, headers: trader })).json().source, { timeout: 10_000 }).toBe('redis');
    expect(a.bookSnapshots!.stats().written).toBeGreaterThan(0);

    // L2: one instance's load is the other's L2 hit, for keys on every primary.
    for (let i = 0; i < 10; i++) expect((await a.cache.get('instruments', `cluster:${i}`, async () => i)).status).toBe('miss');
    for (let i = 0; i < 10; i++) expect(await b.cache.get('instruments', `cluster:${i}`, async () => -1)).toMatchObject({ value: i, tier: 'l2' });

    // Rate limits, bridge, L2 and stream as the operator sees them.
    const health = (await b.app.inject({ url: '/api/health/detailed', headers: admin })).json();
    const redis = health.dependencies.find((d: { name: string }) => d.name === 'redis');
    expect(redis).toMatchObject({ ok: true, details: { busBridge: 'connected', cacheL2: 'healthy', eventStream: 'connected', rateLimits: 'shared across instances' } });
    // The request limit is counted in the cluster (its headers appear only past half the budget: rate-limit.ts).
    expect(a.app.requestRateLimit).toBe('shared');
    expect((await a.app.inject({ url: '/api/instruments?limit=1', headers: trader })).statusCode).toBe(200);

    // Queue: a task enqueued on one instance completes (on whichever took it).
    const id = await a.analysis.queue.enqueue({ type: 'cluster.double', payload: { n: 21 } });
    expect(await b.analysis.queue.waitFor(id, 30_000)).toMatchObject({ status: 'completed', result: 42 });

    // Stream: an order's events (placed on the follower, run by the account's owner) reach both instances.
    const { consumed } = await stream(b);
    const placed = await b.app.inject({ method: 'POST', url: '/api/orders', headers: trader, payload: { symbol, side: 'buy', type: 'market', quantity: 1 } });
    expect(placed.statusCode).toBe(201);
    await expect.poll(async () => (await stream(b)).consumed, { timeout: 10_000 }).toBeGreaterThan(consumed);
  }, 120_000);

  it('a primary killed under orders: no acknowledged order lost, errors only inside the failover window, every event delivered', async () => {
    const symbol = a.marketData.instruments[1]!.symbol;
    const acknowledged: number[] = [];
    let accountId: number | undefined;
    const failures: { at: number; what: string }[] = [];
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        const p = i % 2 ? a : b;
        const [order, read] = await Promise.all([
          p.app.inject({ method: 'POST', url: '/api/orders', headers: trader, payload: { symbol, side: i % 4 < 2 ? 'buy' : 'sell', type: 'market', quantity: 1 } }),
          p.app.inject({ url: `/api/instruments?limit=${1 + (i % 20)}`, headers: trader }),
        ]);
        if (order.statusCode === 201) {
          acknowledged.push(order.json().id);
          accountId ??= order.json().accountId;
        }
        else failures.push({ at: Date.now(), what: `order ${order.statusCode} ${order.body}` });
        if (read.statusCode !== 200) failures.push({ at: Date.now(), what: `read ${read.statusCode} ${read.body}` });
      }
    })();
    // The traffic stops however the test ends: left running, it kept both platforms busy through afterAll's stop.
    onTestFinished(() => {
      running = false;
    });
    await expect.poll(() => acknowledged.length, { timeout: 30_000 }).toBeGreaterThan(50);

    // The primary holding the account's shared order-rate bucket: every order touches it.
    const client = createRedisClient(cluster!.url);
    const slot = Number(await client.cluster('KEYSLOT', `${prefix}cache:order-rate:${accountId}`));
    const primary = Number((client as Cluster).slots[slot]![0]!.split(':')[1]);
    client.disconnect();
    expect(await cluster!.primaries()).toContain(primary);
    const killedAt = Date.now();
    await cluster!.killPrimary(primary);
    const recoveredAt = Date.now();
    const after = acknowledged.length;
    await expect.poll(() => acknowledged.length, { timeout: 30_000 }).toBeGreaterThan(after + 50);
    running = false;
    await traffic;
    console.log(`primary ${primary} killed: ${acknowledged.length} orders acknowledged, ${failures.length} failed requests, failover window ${recoveredAt - killedAt} ms`, failures);

    // Failures, if any, happened between the kill and the cluster settling again.
    expect(failures.filter((f) => f.at < killedAt || f.at > recoveredAt)).toEqual([]);
    // Every acknowledged order is there, read through either instance.
    for (const [i, id] of acknowledged.entries()) {
      const read = await (i % 2 ? a : b).app.inject({ url: `/api/orders/${id}`, headers: trader });
      expect(read.statusCode, `order ${id}`).toBe(200);
    }
    // After the failover the follower still hears the leader's ticks (the bridge resubscribed), the
    // leader's book snapshots land, and one instance's load is again the other's L2 hit.
    const heard = b.marketData.book.seq;
    const written = a.bookSnapshots!.stats().written;
    await expect.poll(() => b.marketData.book.seq, { timeout: 10_000 }).toBeGreaterThan(heard);
    await expect.poll(() => a.bookSnapshots!.stats().written, { timeout: 10_000 }).toBeGreaterThan(written);
    await a.cache.get('instruments', 'after-failover', async () => 'loaded');
    await expect.poll(async () => (await b.cache.get('instruments', 'after-failover', async () => 'not shared')).tier, { timeout: 10_000 }).toBe('l2');
    // Every account event appended on either instance reaches both, none dropped.
    const appended = (await stream(a)).appended + (await stream(b)).appended;
    for (const p of [a, b]) {
      await expect.poll(async () => (await stream(p)).consumed, { timeout: 30_000 }).toBe(appended);
      expect((await stream(p)).dropped).toBe(0);
    }
  }, 240_000);
});
