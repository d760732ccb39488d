/**
 * One market and work done once (issue 13, items 2 and 3): two platforms in-process on one
 * PostgreSQL database and one Redis (a run-unique prefix), as two instances of the scaled deployment.
 * Time is a manual clock, so minutes close when the test says; the feed runs on its timer. The cache
 * tests come first: a minute's close invalidates one tag per symbol on the leader, and that burst of
 * Redis writes delays the cache's own bus by seconds on this shared machine.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tags } from '../../src/cache/invalidation.ts';
import { testConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/database.ts';
import { openServer } from '../../src/db/pg.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { DEMO_TOKEN } from '../support/platform.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const servers = (await pgAvailable()) && (await redisAvailable());

describe.runIf(servers)('two instances on one database and one Redis', () => {
  const prefix = redisPrefix('market');
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 15, 0, 30));
  let temp: TempDatabase;
  const dbs: Database[] = [];
  let a: Platform;
  let b: Platform;
  /** B's book sequence when it joined: ticks before it were never sent to it (it starts from the last snapshot). */
  let joinedAt = 0;

  const build = async () => {
    const config = testConfig({
      demoToken: DEMO_TOKEN,
      databaseUrl: temp.url,
      redisUrl: REDIS_TEST_URL,
      market: { ...testConfig().market, tickRate: 400, leaderTtlMs: 10_000 },
      // Two platforms and a ticking feed share one event loop here: a 50 ms Redis timeout would trip
      // the cache's breaker and delay invalidations by its break time (not what these tests are about).
      cache: { ...testConfig().cache, prefix: `${prefix}cache`, l2TimeoutMs: 1_000 },
      realtime: { ...testConfig().realtime, busChannel: `${prefix}bus` },
      analysis: { ...testConfig().analysis, queuePrefix: `${prefix}tasks`, performanceRefreshMs: 100 },
    });
    const db = await openServer({ url: temp.url, poolSize: 5 });
    dbs.push(db);
    return buildPlatform(config, { db, clock });
  };

  beforeAll(async () => {
    temp = await createTempDatabase('market');
    a = await build();
    await a.listen();
    b = await build();
    await b.listen();
    joinedAt = b.marketData.book.seq;
  });


  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(dbs.map((db) => db.close()));
    await temp?.drop();
    await deleteRedisKeys(prefix);
  });

  /** Prices and times of the symbols B heard since it joined, on one instance. */
  const tickedOn = (p: Platform) =>
    b.marketData.instruments
      .filter((i) => b.marketData.book.get(i.id)!.seq > joinedAt)
      .map((i) => {
        const { symbol, bid, ask, last, bidSize, askSize, ts } = p.marketData.book.get(i.id)!;
        return { symbol, bid, ask, last, bidSize, askSize, ts };
      });

  it('a strategy change on one instance invalidates the other’s cache, which invalidates nothing again itself', async () => {
    const stored = { sharpe: 1 };
    const key = 'strategy:901:performance';
    const read = (p: Platform) => p.cache.get('strategyPerformance', key, async () => ({ sharpe: stored.sharpe }), [tags.strategy(901)]);
    expect((await read(a)).value.sharpe).toBe(1);
    expect((await read(b)).value.sharpe).toBe(1);
    expect((await read(b)).tier).toBe('l1');
    const before = b.cache.stats.byClass.strategyPerformance.invalidations;

    stored.sharpe = 2;
    a.analysis.performance.deleted(1, 901);
    await expect.poll(async () => (await read(b)).value.sharpe, { timeout: 5_000 }).toBe(2);
    expect(b.cache.stats.byClass.strategyPerformance.invalidations).toBe(before);
  });

  it('an invalidation heard from another instance discards in-flight loads of its class only', async () => {
    const race = async (invalidate: () => void, heard: () => Promise<boolean>) => {
      let release!: () => void;
      let started!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const loading = new Promise<void>((resolve) => (started = resolve));
      const discarded = b.cache.stats.byClass.historicalBars.discarded;
      const key = `race:${Math.random()}`;
      const load = b.cache.get('historicalBars', key, async () => {
        started();
        await gate;
        return 'loaded';
      });
      await loading;
      invalidate();
      await expect.poll(heard, { timeout: 5_000 }).toBe(true);
      release();
      await load;
      return b.cache.stats.byClass.historicalBars.discarded - discarded;
    };
    const sym = 'ZZZ';
    const strategyRead = () => b.cache.get('strategyPerformance', 'strategy:902:performance', async () => Date.now(), [tags.strategy(902)]);
    const first = (await strategyRead()).value;
    // Another class's invalidation: the bars load is kept.
    expect(await race(() => a.analysis.performance.deleted(1, 902), async () => (await strategyRead()).value !== first)).toBe(0);
    // Its own class's invalidation (the control): the load that raced it is discarded.
    const barsRead = () => b.cache.get('historicalBars', `bars:${sym}`, async () => Date.now(), [tags.openBars(sym)]);
    const bars = (await barsRead()).value;
    expect(await race(() => void a.cache.invalidateTag(tags.openBars(sym), ['historicalBars']), async () => (await barsRead()).value !== bars)).toBeGreaterThan(0);
  });

  it('the first instance leads the feed; the second follows and serves the same prices for the same ticks', async () => {
    expect(a.marketData.status()).toMatchObject({ role: 'leader', epoch: expect.any(Number) });
    expect(b.marketData.status()).toMatchObject({ role: 'follower', epoch: undefined });
    await expect.poll(() => a.marketData.feed.ticksGenerated, { timeout: 5_000 }).toBeGreaterThan(500);
    expect(b.marketData.feed.ticksGenerated).toBe(0);
    expect(b.marketData.status().lastTickAgeMs).toBeDefined();

    await expect.poll(() => tickedOn(b).length, { timeout: 10_000 }).toBeGreaterThan(100);

    // Stop the leader's feed (not its lease): once the bridge has drained, both books hold the same quotes.
    a.marketData.feed.stop();
    try {
      const differing = () => {
        const onA = tickedOn(a);
        return tickedOn(b).filter((q, i) => !isDeepStrictEqual(q, onA[i]));
      };
      await expect.poll(differing, { timeout: 5_000 }).toEqual([]);
    } finally {
      a.marketData.feed.start();
    }
  });

  it('writes every minute’s bars once (the leader only), with no failed batch, and queues a strategy refresh once', async () => {
    const { userId } = await a.users.create({ name: 'market-strategies', role: 'trader' });
    const symbol = a.marketData.instruments[0]!.symbol;
    const strategy = await a.analysis.strategies.create(userId, {
      name: 'once',
      type: 'sma_crossover',
      config: { symbols: [symbol], interval: '1d', lookbackDays: 30, params: {}, options: {} },
    });
    const scheduled = { a: vi.spyOn(a.analysis.performance, 'schedule'), b: vi.spyOn(b.analysis.performance, 'schedule') };
    const heardBars = new Set<string>();
    b.bus.subscribe('bar.1m.*', (_bar, topic) => heardBars.add(topic));

    clock.advance(60_000);
    await expect.poll(() => a.marketData.barWriter.written, { timeout: 5_000 }).toBeGreaterThan(0);
    clock.advance(60_000);
    await expect.poll(() => heardBars.has(`bar.1m.${symbol}`), { timeout: 5_000 }).toBe(true);
    await a.marketData.barWriter.drain();

    expect(b.marketData.barWriter.written).toBe(0);
    expect(a.marketData.barWriter.failed + b.marketData.barWriter.failed).toBe(0);
    const { rows } = await dbs[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM bars_1m');
    expect(rows[0]!.n).toBe(a.marketData.barWriter.written);

    await expect.poll(() => scheduled.a.mock.calls.filter(([id]) => id === strategy.id).length, { timeout: 5_000 }).toBeGreaterThan(0);
    await Promise.all([a.analysis.performance.flush(), b.analysis.performance.flush()]);
    expect(scheduled.b.mock.calls).toEqual([]);
    // One enqueue per closed minute that had bars for the symbol, never one per instance.
    expect(scheduled.a.mock.calls.filter(([id]) => id === strategy.id).length).toBeLessThanOrEqual(2);
  });

  it('when the leader stops, the follower takes the feed over (a new epoch) and its ticks reach the instance that rejoins', async () => {
    const epoch = a.marketData.status().epoch!;
    await a.stop();
    await expect.poll(() => b.marketData.status().role, { timeout: 10_000 }).toBe('leader');
    expect(b.marketData.status().epoch).toBeGreaterThan(epoch);
    await expect.poll(() => b.marketData.feed.ticksGenerated, { timeout: 5_000 }).toBeGreaterThan(100);

    a = await build();
    await a.listen();
    expect(a.marketData.status().role).toBe('follower');
    await expect.poll(() => a.marketData.status().lastTickAgeMs, { timeout: 5_000 }).toBeDefined();
    expect(a.marketData.feed.ticksGenerated).toBe(0);
  });
});
