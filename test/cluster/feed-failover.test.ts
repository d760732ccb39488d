/**
 * One market across real processes (issue 13, item 2): two `tachyon start` instances on one
 * PostgreSQL database and one Redis. Both serve the same quotes (one feed, bridged), and when the
 * feed leader is killed with SIGKILL the other takes the feed over and keeps the market ticking.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, startServer, type ServerProcess } from '../trading/server-process.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix, type TempDatabase } from '../support/servers.ts';

const servers = (await pgAvailable()) && (await redisAvailable());
const TOKEN = 'failover-demo-token-0123456789';
const TTL_MS = 2_000;

interface QuoteDto {
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  ts: string | number;
}

async function quotes(server: ServerProcess): Promise<QuoteDto[]> {
  const res = await fetch(`${server.url}/api/market-data/quotes`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 200) throw new Error(`quotes answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { quotes: QuoteDto[] }).quotes;
}

const key = (q: QuoteDto) => `${q.symbol} ${q.bid} ${q.ask} ${q.last} ${String(q.ts)}`;

describe.runIf(servers)('the feed across two processes', () => {
  const prefix = redisPrefix('failover');
  let temp: TempDatabase;
  let admin: pg.Client;
  const started: ServerProcess[] = [];

  const start = async () => {
    const server = await startServer({
      DATABASE_URL: temp.url,
      REDIS_URL: REDIS_TEST_URL,
      TACHYON_DEMO_TOKEN: TOKEN,
      TACHYON_TICK_RATE: '1000',
      TACHYON_INSTRUMENTS: '200',
      TACHYON_FEED_LEASE_TTL_MS: String(TTL_MS),
      TACHYON_BUS_CHANNEL: `${prefix}bus`,
      TACHYON_CACHE_PREFIX: `${prefix}cache`,
      TACHYON_ANALYSIS_QUEUE_PREFIX: `${prefix}tasks`,
    });
    started.push(server);
    return server;
  };
  const leaderPid = async () => {
    const { rows } = await admin.query<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name = 'feed' AND expires_at > now()");
    return rows[0] ? Number(rows[0].holder.split('-')[0]) : undefined;
  };

  beforeAll(async () => {
    temp = await createTempDatabase('failover');
    admin = new pg.Client({ connectionString: temp.url });
    await admin.connect();
  });

  afterAll(async () => {
    for (const server of started) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
    await Promise.all(started.map((s) => exited(s.child)));
    await admin?.end();
    await temp?.drop();
    await deleteRedisKeys(prefix);
  });

  it('serves the same quotes on both instances, and survives SIGKILL of the feed leader', { timeout: 120_000 }, async () => {
    const a = await start();
    const b = await start();
    expect(await leaderPid()).toBe(a.child.pid);

    // Same moment, same quote: nearly every symbol matches between the two (a few tick in between reads).
    await expect
      .poll(
        async () => {
          const [onA, onB] = await Promise.all([quotes(a), quotes(b)]);
          const same = new Set(onA.map(key));
          return onB.filter((q) => same.has(key(q))).length / onB.length;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBeGreaterThan(0.9);

    a.child.kill('SIGKILL');
    await exited(a.child);
    const before = new Map((await quotes(b)).map((q) => [q.symbol, key(q)]));
    // The lease lapses within its TTL and the follower takes it on its next try.
    await expect.poll(leaderPid, { timeout: 5 * TTL_MS + 10_000, interval: 200 }).toBe(b.child.pid);
    await expect
      .poll(async () => (await quotes(b)).filter((q) => before.get(q.symbol) !== key(q)).length, { timeout: 10_000, interval: 200 })
      .toBeGreaterThan(50);

    // A new instance follows the new leader and serves its prices.
    const c = await start();
    expect(await leaderPid()).toBe(b.child.pid);
    await expect
      .poll(
        async () => {
          const [onB, onC] = await Promise.all([quotes(b), quotes(c)]);
          const same = new Set(onB.map(key));
          return onC.filter((q) => same.has(key(q))).length / onC.length;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBeGreaterThan(0.9);
  });
});
