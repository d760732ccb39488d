/**
 * Order-book snapshots in Redis (issue 22 item 5): two platforms on one PostgreSQL database and one
 * Redis (a run-unique prefix). The feed leader writes each ticked symbol's book, conflated per turn;
 * the follower's book route answers from Redis exactly what the leader's book holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Database } from '../../src/db/database.ts';
import { openServer } from '../../src/db/pg.ts';
import { bookOf } from '../../src/market-data/book-snapshots.ts';
import { buildPlatform, type Platform } from '../../src/platform.ts';
import { publishPartial } from '../support/bus-events.ts';
import { DEMO_TOKEN } from '../support/platform.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const servers = (await pgAvailable()) && (await redisAvailable());

describe.runIf(servers)('order-book snapshots in Redis, two instances', () => {
  const prefix = redisPrefix('book');
  const headers = { authorization: `Bearer ${DEMO_TOKEN}` };
  let temp: TempDatabase;
  const dbs: Database[] = [];
  let a: Platform;
  let b: Platform;

  const build = async () => {
    const base = testConfig();
    const config = testConfig({
      demoToken: DEMO_TOKEN,
      databaseUrl: temp.url,
      redisUrl: REDIS_TEST_URL,
      market: { ...base.market, instruments: 50, tickRate: 400, leaderTtlMs: 10_000 },
      cache: { ...base.cache, prefix: `${prefix}cache`, l2TimeoutMs: 1_000 },
      realtime: { ...base.realtime, busChannel: `${prefix}bus` },
      analysis: { ...base.analysis, queuePrefix: `${prefix}tasks` },
    });
    const db = await openServer({ url: temp.url, poolSize: 5 });
    dbs.push(db);
    return buildPlatform(config, { db });
  };

  beforeAll(async () => {
    temp = await createTempDatabase('book');
    a = await build();
    await a.listen();
    b = await build();
    await b.listen();
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(dbs.map((db) => db.close()));
    await temp?.drop();
    await deleteRedisKeys(prefix);
  });

  const book = async (p: Platform, symbol: string) => {
    const response = await p.app.inject({ url: `/api/market-data/book/${symbol}`, headers });
    expect(response.statusCode).toBe(200);
    return response.json<Record<string, unknown>>();
  };

  it('the leader writes, conflated; the follower reads the leader’s book from Redis', async () => {
    expect(a.marketData.status().role).toBe('leader');
    expect(b.marketData.status().role).toBe('follower');
    await expect.poll(() => a.marketData.feed.ticksGenerated, { timeout: 10_000 }).toBeGreaterThan(500);

    // Stop the leader's feed (not its lease): once the last flush has landed, Redis holds its book.
    a.marketData.feed.stop();
    // Symbols that ticked (small names may not have yet): a symbol never ticked was never written.
    const symbols = a.marketData.instruments.map((i) => i.symbol).filter((s) => a.marketData.quote(s).seq > 0);
    expect(symbols.length).toBeGreaterThan(10);
    for (const symbol of symbols) {
      const expected = { ...bookOf(a.marketData.quote(symbol)), source: 'redis' };
      await expect.poll(() => book(b, symbol), { timeout: 10_000 }).toEqual(expected);
    }
    // The leader answers from memory, the same book.
    expect(await book(a, symbols[0]!)).toEqual({ ...bookOf(a.marketData.quote(symbols[0]!)), source: 'memory' });

    const leader = a.bookSnapshots!.stats();
    // Each flush wrote several symbols' latest state at once, fewer writes than ticks.
    expect(leader.written).toBeGreaterThan(leader.flushes);
    expect(leader.written).toBeLessThan(a.marketData.feed.ticksGenerated);
    // Only the leader writes; the follower only reads.
    expect(b.bookSnapshots!.stats()).toMatchObject({ written: 0, flushes: 0 });
    expect(b.bookSnapshots!.stats().reads).toBeGreaterThanOrEqual(symbols.length);
  });

  it('a tick for a symbol the book does not know is skipped: flushes go on (an unhandled error would fail the run)', async () => {
    const { flushes } = a.bookSnapshots!.stats();
    publishPartial(a.bus, 'quote.UNKNOWN', { symbol: 'UNKNOWN', last: 1 });
    a.marketData.feed.start();
    await expect.poll(() => a.bookSnapshots!.stats().flushes, { timeout: 10_000 }).toBeGreaterThan(flushes);
    a.marketData.feed.stop();
  });

  it('an unknown symbol is a 404, a malformed one a 400', async () => {
    expect((await b.app.inject({ url: '/api/market-data/book/NOPE1', headers })).statusCode).toBe(404);
    expect((await b.app.inject({ url: '/api/market-data/book/bad%20sym', headers })).statusCode).toBe(400);
    expect((await b.app.inject({ url: `/api/market-data/book/${a.marketData.instruments[0]!.symbol}` })).statusCode).toBe(401);
  });
});
