import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHistory } from '../../src/market-data/history.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const MINUTE = 60_000;

describe.each(await engines())('platform API on $name', (engine) => {
  let t: TestPlatform;
  const inject = (options: InjectOptions) => t.platform.app.inject(options);

  beforeAll(async () => {
    t = await startTestPlatform(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('health', () => {
    it('liveness and readiness need no token', async () => {
      const live = await inject({ url: '/api/health' });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toEqual({ status: 'ok' });
      const db = await inject({ url: '/api/health/db' });
      expect(db.statusCode).toBe(200);
      expect(db.json()).toMatchObject({ status: 'ok', latencyMs: expect.any(Number) });
    });

    it('detailed health is for admins', async () => {
      expect((await inject({ url: '/api/health/detailed' })).statusCode).toBe(401);
      expect((await inject({ url: '/api/health/detailed', headers: t.trader })).statusCode).toBe(403);
      const res = await inject({ url: '/api/health/detailed', headers: t.admin });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'ok',
        version: expect.any(String),
        uptimeSeconds: expect.any(Number),
        dependencies: [
          expect.objectContaining({ name: 'database', ok: true }),
          expect.objectContaining({ name: 'task queue', ok: true, details: { kind: 'in-process', depth: 0 } }),
          expect.objectContaining({ name: 'feed', ok: true, details: expect.objectContaining({ role: expect.stringMatching(/^(leader|follower)$/) }) }),
          expect.objectContaining({ name: 'account leases', ok: true, details: expect.objectContaining({ shardsHeld: 256, shards: 256 }) }),
        ],
        memory: expect.objectContaining({ rssBytes: expect.any(Number) }),
        eventLoopDelayMs: expect.objectContaining({ p99: expect.any(Number) }),
        pool: expect.objectContaining({ max: expect.any(Number) }),
      });
    });
  });

  describe('authentication', () => {
    it('refuses missing, malformed and unknown tokens with problem+json 401', async () => {
      for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer not-a-real-token' }]) {
        const res = await inject({ url: '/api/instruments', headers });
        expect(res.statusCode).toBe(401);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ status: 401, code: 'unauthorized', detail: expect.any(String) });
      }
    });

    it('admins create users whose token works once returned; traders may not', async () => {
      const denied = await inject({ method: 'POST', url: '/api/admin/users', headers: t.trader, payload: { name: 'eve', role: 'admin' } });
      expect(denied.statusCode).toBe(403);
      const res = await inject({ method: 'POST', url: '/api/admin/users', headers: t.admin, payload: { name: 'alice', role: 'trader', openingCash: 50_000 } });
      expect(res.statusCode).toBe(201);
      const created = res.json();
      expect(created.token).toMatch(/^tyn_/);
      expect(created.accountId).toEqual(expect.any(Number));
      const ok = await inject({ url: '/api/instruments?limit=1', headers: { authorization: `Bearer ${created.token}` } });
      expect(ok.statusCode).toBe(200);
      const again = await inject({ method: 'POST', url: '/api/admin/users', headers: t.admin, payload: { name: 'alice', role: 'trader' } });
      expect(again.statusCode).toBe(409);
    });

    it('stores tokens only as hashes', async () => {
      const { rows } = await t.platform.db.query<{ token_hash: string }>('SELECT token_hash FROM api_keys');
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('instruments', () => {
    it('lists the whole universe in pages with a cursor', async () => {
      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const res = await inject({ url: '/api/instruments', query: { limit: '1000', ...(cursor ? { cursor } : {}) }, headers: t.trader });
        expect(res.statusCode).toBe(200);
        const body = res.json();
        for (const i of body.items) seen.add(i.symbol);
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen.size).toBe(t.platform.marketData.instruments.length);
      expect(seen.size).toBeGreaterThanOrEqual(2000);
    });

    it('filters by sector and searches by symbol prefix or name', async () => {
      const sector = t.platform.marketData.instruments[0]!.sector;
      const bySector = (await inject({ url: '/api/instruments', query: { sector, limit: '1000' }, headers: t.trader })).json();
      expect(bySector.items.length).toBeGreaterThan(0);
      expect(bySector.items.every((i: { sector: string }) => i.sector === sector)).toBe(true);
      const search = (await inject({ url: '/api/instruments', query: { search: 'AAP' }, headers: t.trader })).json();
      expect(search.items.map((i: { symbol: string }) => i.symbol)).toContain('AAPL');
    });
  });

  describe('quotes', () => {
    it('answers every instrument with the demo token', async () => {
      const res = await inject({ url: '/api/market-data/quotes', headers: t.trader });
      expect(res.statusCode).toBe(200);
      const { quotes } = res.json();
      expect(quotes.length).toBe(t.platform.marketData.instruments.length);
      for (const q of quotes) {
        expect(q.bid).toBeGreaterThan(0);
        expect(q.ask).toBeGreaterThan(q.bid);
      }
    });

    it('answers a list and a single symbol; unknown symbols are 404 naming them', async () => {
      const list = await inject({ url: '/api/market-data/quotes?symbols=AAPL,msft', headers: t.trader });
      expect(list.json().quotes.map((q: { symbol: string }) => q.symbol)).toEqual(['AAPL', 'MSFT']);
      const one = await inject({ url: '/api/market-data/quotes/AAPL', headers: t.trader });
      expect(one.json()).toMatchObject({ symbol: 'AAPL', bid: expect.any(Number) });
      const missing = await inject({ url: '/api/market-data/quotes?symbols=AAPL,NOPE1,NOPE2', headers: t.trader });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'not_found', symbols: ['NOPE1', 'NOPE2'] });
      expect((await inject({ url: '/api/market-data/quotes/ZZZZZZ', headers: t.trader })).statusCode).toBe(404);
    });
  });

  describe('bars', () => {
    let end: number;
    beforeAll(async () => {
      const md = t.platform.marketData;
      const instruments = md.instruments.filter((i) => i.symbol === 'AAPL' || i.symbol === 'MSFT');
      end = Math.floor(Date.now() / MINUTE) * MINUTE;
      const days = new Set<number>();
      for (const batch of generateHistory({ instruments, marketClock: md.marketClock, days: 3, endMs: end, seed: 1 })) {
        for (const d of await md.barStore.insert(batch)) days.add(d);
      }
      await md.barStore.rollUpDays(days);
    });

    it('returns the latest 1-minute bars in time order with consistent OHLC', async () => {
      const res = await inject({ url: '/api/market-data/bars/AAPL?interval=1m&limit=100', headers: t.trader });
      expect(res.statusCode).toBe(200);
      const { bars } = res.json();
      expect(bars.length).toBe(100);
      for (let i = 1; i < bars.length; i++) expect(bars[i].ts).toBeGreaterThan(bars[i - 1].ts);
      for (const b of bars) {
        expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close));
        expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
      }
    });

    it('aggregates coarser intervals from 1-minute bars exactly', async () => {
      const ones = (await inject({ url: `/api/market-data/bars/AAPL?interval=1m&limit=10000&from=${end - 3 * 86_400_000 * 3}`, headers: t.trader })).json().bars;
      const fives = (await inject({ url: `/api/market-data/bars/AAPL?interval=5m&limit=10000&from=${end - 3 * 86_400_000 * 3}`, headers: t.trader })).json().bars;
      expect(fives.length).toBeGreaterThan(0);
      const first = fives[1]; // a whole bucket
      const inside = ones.filter((b: { ts: number }) => b.ts >= first.ts && b.ts < first.ts + 5 * MINUTE);
      expect(first.open).toBe(inside[0].open);
      expect(first.close).toBe(inside[inside.length - 1].close);
      expect(first.high).toBe(Math.max(...inside.map((b: { high: number }) => b.high)));
      expect(first.volume).toBe(inside.reduce((s: number, b: { volume: number }) => s + b.volume, 0));
      const daily = (await inject({ url: '/api/market-data/bars/AAPL?interval=1d&limit=10', headers: t.trader })).json().bars;
      expect(daily.length).toBeGreaterThanOrEqual(3);
      const hourly = (await inject({ url: '/api/market-data/bars/MSFT?interval=1h&limit=5', headers: t.trader })).json().bars;
      expect(hourly.length).toBe(5);
    });

    it('validates the query and names the field', async () => {
      const bad = await inject({ url: '/api/market-data/bars/AAPL?interval=2m', headers: t.trader });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().detail).toContain('interval');
      const limit = await inject({ url: '/api/market-data/bars/AAPL?limit=abc', headers: t.trader });
      expect(limit.statusCode).toBe(400);
      expect(limit.json().detail).toContain('limit');
      const range = await inject({ url: '/api/market-data/bars/AAPL?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', headers: t.trader });
      expect(range.statusCode).toBe(400);
      const time = await inject({ url: '/api/market-data/bars/AAPL?from=yesterday', headers: t.trader });
      expect(time.statusCode).toBe(400);
      const unknown = await inject({ url: '/api/market-data/bars/NOPE9', headers: t.trader });
      expect(unknown.statusCode).toBe(404);
    });
  });

  describe('errors', () => {
    it('unknown routes are 404 problem+json, with or without a token', async () => {
      for (const headers of [{}, t.trader]) {
        const res = await inject({ url: '/api/nothing-here', headers });
        expect(res.statusCode).toBe(404);
        expect(res.json()).toMatchObject({ code: 'route_not_found', status: 404 });
      }
    });

    it('a body over the limit is 413, malformed JSON 400, never a 500', async () => {
      const huge = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), role: 'trader' });
      const big = await inject({ method: 'POST', url: '/api/admin/users', headers: { ...t.admin, 'content-type': 'application/json' }, payload: huge });
      expect(big.statusCode).toBe(413);
      expect(big.json()).toMatchObject({ code: 'body_too_large' });
      const broken = await inject({ method: 'POST', url: '/api/admin/users', headers: { ...t.admin, 'content-type': 'application/json' }, payload: '{"name": ' });
      expect(broken.statusCode).toBe(400);
      const wrong = await inject({ method: 'POST', url: '/api/admin/users', headers: t.admin, payload: { name: 'bob', role: 'root' } });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().detail).toContain('role');
      const cash = await inject({ method: 'POST', url: '/api/admin/users', headers: t.admin, payload: { name: 'bob', role: 'trader', openingCash: 1.123456 } });
      expect(cash.statusCode).toBe(400);
      expect(cash.json().detail).toContain('openingCash');
    });

    it('serves the OpenAPI document and docs without a token', async () => {
      const spec = await inject({ url: '/docs/json' });
      expect(spec.statusCode).toBe(200);
      expect(Object.keys(spec.json().paths)).toEqual(expect.arrayContaining(['/api/market-data/quotes/{symbol}', '/api/market-data/bars/{symbol}', '/api/instruments']));
      // The error catalogue, as an extension of the document.
      expect(spec.json()['x-error-codes']).toMatchObject({ insufficient_buying_power: { status: 422, message: 'the order needs {cost} of buying power; {available} is available' }, not_found: { status: 404 } });
    });
  });
});
