/**
 * One test per Cache-Control rule (src/cache/http/route-cache.ts, src/http/optimizations/http-optimizations.ts): no answer
 * to a token is public, open ranges live no longer than the next bar, empty answers are never
 * immutable, backfilled history drops cached answers, every GET varies on Accept-Encoding, and the
 * quote route has the validator the README promises.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistory } from '../../src/market-data/history-seeder.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

describe('Cache headers (PGlite platform)', () => {
  let t: TestPlatform;
  const inject = (options: InjectOptions) => t.platform.app.inject(options);
  const maxAge = (cacheControl: unknown) => Number(/max-age=(\d+)/.exec(String(cacheControl))?.[1] ?? NaN);

  beforeAll(async () => {
    t = await startTestPlatform(pglite);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('no answer to a token is public: cached market data is private, routes without a policy are revalidated', async () => {
    const instruments = await inject({ url: '/api/instruments?limit=5', headers: t.trader });
    expect(instruments.statusCode).toBe(200);
    expect(instruments.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    const catalogue = await inject({ url: '/api/strategies/catalogue', headers: t.trader });
    expect(catalogue.statusCode).toBe(200);
    expect(catalogue.headers['cache-control']).toBe('private, no-cache');
    const metrics = await inject({ url: '/metrics', headers: t.admin });
    expect(metrics.headers['cache-control']).toMatch(/^private/);
    // A public route asked without a credential is left to say what it wants.
    expect(String((await inject({ url: '/api/health' })).headers['cache-control'] ?? '')).not.toContain('private');
  });

  it('an open bar range is private and fresh at most until the next minute, so never longer than a bar interval', async () => {
    for (const interval of ['1m', '5m', '1h']) {
      const res = await inject({ url: `/api/market-data/bars/AAPL?interval=${interval}&limit=10`, headers: t.trader });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
      expect(maxAge(res.headers['cache-control'])).toBeLessThanOrEqual(60);
    }
    const forecast = await inject({ url: '/api/predictions/AAPL?horizon=5', headers: t.trader });
    if (forecast.statusCode === 200) expect(maxAge(forecast.headers['cache-control'])).toBeLessThanOrEqual(60);
  });

  it('a closed range that came back empty is not immutable; backfilled history replaces the cached empty answer', async () => {
    const { marketData, db, config, historyWatch } = t.platform;
    const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const url = `/api/market-data/bars/AAPL?interval=1m&from=${endMs - 30 * 60_000}&to=${endMs}&limit=100`;
    const empty = await inject({ url, headers: t.trader });
    expect(empty.json().bars).toEqual([]);
    expect(empty.headers['cache-control']).not.toContain('immutable');
    expect((await inject({ url, headers: t.trader })).headers['cache-status']).toMatch(/^tachyon; hit/);

    const aapl = marketData.instruments.find((i) => i.symbol === 'AAPL')!;
    // Two trading days: the 30 minutes before endMs start yesterday when the test runs just after midnight UTC.
    await seedHistory(db, { instruments: [aapl], marketClock: marketData.marketClock, days: 2, endMs, seed: config.market.seed });
    // What the server's periodic watch does (every few seconds), for any process's load.
    expect(await historyWatch.check()).toBe(true);
    expect(await historyWatch.check()).toBe(false);

    const filled = await inject({ url, headers: t.trader });
    expect(filled.headers['cache-status']).toMatch(/^tachyon; fwd=miss/);
    expect(filled.json().bars.length).toBe(30);
    // A closed range with data can no longer change.
    expect(filled.headers['cache-control']).toBe('private, max-age=31536000, immutable');
  });

  it('a GET that may be compressed varies on Accept-Encoding, sent compressed or not; a body below the threshold does not', async () => {
    // Below the compression threshold: the same bytes for every client, cached route or not.
    const small = await inject({ url: '/api/instruments?limit=1', headers: { ...t.trader, 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.headers.vary).toBeUndefined();
    const quote = await inject({ url: '/api/market-data/quotes/AAPL', headers: { ...t.trader, 'accept-encoding': 'gzip' } });
    expect(quote.headers['content-encoding']).toBeUndefined();
    expect(quote.headers.vary).toBeUndefined();
    // Above it: varies whether this client got it compressed or not (cached route and uncached route).
    const compressed = await inject({ url: '/api/instruments?limit=200', headers: { ...t.trader, 'accept-encoding': 'gzip' } });
    expect(compressed.headers['content-encoding']).toBe('gzip');
    expect(compressed.headers.vary).toBe('accept-encoding');
    const identity = await inject({ url: '/api/instruments?limit=200', headers: t.trader });
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers.vary).toBe('accept-encoding');
    const uncachedLarge = await inject({ url: '/api/market-data/quotes', headers: t.trader });
    expect(uncachedLarge.headers['content-encoding']).toBeUndefined();
    expect(uncachedLarge.headers.vary).toBe('accept-encoding');
    t.platform.flags.set('http.compression', false);
    try {
      expect((await inject({ url: '/api/instruments?limit=200', headers: t.trader })).headers.vary).toBeUndefined();
    } finally {
      t.platform.flags.set('http.compression', true);
    }
  });

  it('the quote route has an ETag: If-None-Match answers 304 until the quote changes', async () => {
    const { marketData } = t.platform;
    const first = await inject({ url: '/api/market-data/quotes/MSFT', headers: t.trader });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const again = await inject({ url: '/api/market-data/quotes/MSFT', headers: { ...t.trader, 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    const msft = marketData.instruments.find((i) => i.symbol === 'MSFT')!;
    const q = marketData.quote('MSFT');
    marketData.book.update(msft.id, q.bid + 100, q.ask + 100, q.last + 100, 1, q.ts + 1);
    const changed = await inject({ url: '/api/market-data/quotes/MSFT', headers: { ...t.trader, 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});
