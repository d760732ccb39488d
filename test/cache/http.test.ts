import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { HASHED_ETAG_MIN_BYTES } from '../../src/http/optimizations/http-optimizations.ts';

describe('HTTP caching (PGlite platform)', () => {
  let t: TestPlatform;
  const inject = (options: InjectOptions) => t.platform.app.inject(options);

  beforeAll(async () => {
    t = await startTestPlatform(pglite, { cache: { ...(await import('../../src/config/config.ts')).testConfig().cache, batchMaxRequests: 3 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a cached route says what the cache did: miss, then an L1 hit with Age; private Cache-Control (it needed a token)', async () => {
    const url = '/api/instruments?limit=50&search=A';
    const first = await inject({ url, headers: t.trader });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-status']).toMatch(/^tachyon; fwd=miss; stored/);
    const second = await inject({ url, headers: t.trader });
    expect(second.headers['cache-status']).toMatch(/^tachyon; hit; ttl=\d+; detail=l1$/);
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    expect(second.body).toBe(first.body);
    expect(second.json().items.length).toBeGreaterThan(0);
  });

  it('orders and portfolio answers are never stored by any cache', async () => {
    for (const url of ['/api/orders', '/api/portfolio', '/api/portfolio/positions', '/api/portfolio/transactions']) {
      const res = await inject({ url, headers: t.trader });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control'], url).toBe('private, no-store');
    }
  });

  it('/metrics exports hits and misses per class and tier after known traffic', async () => {
    const url = '/api/instruments?limit=7&search=M';
    const metric = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? NaN);
    const scrape = async () => (await inject({ url: '/metrics', headers: t.admin })).body;
    const before = await scrape();
    const hits = 'tachyon_cache_hits_total{class="instruments",tier="l1"}';
    const misses = 'tachyon_cache_misses_total{class="instruments",tier="l1"}';
    expect(metric(before, hits)).toBeGreaterThanOrEqual(0);
    await inject({ url, headers: t.trader });
    await inject({ url, headers: t.trader });
    await inject({ url, headers: t.trader });
    const after = await scrape();
    expect(metric(after, hits) - metric(before, hits)).toBe(2);
    expect(metric(after, misses) - metric(before, misses)).toBe(1);
    expect(after).toContain('# TYPE tachyon_cache_hits_total counter');
  });

  it('ETag and If-None-Match answer 304 with no body', async () => {
    const url = '/api/instruments?limit=5';
    const first = await inject({ url, headers: t.trader });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await inject({ url, headers: { ...t.trader, 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await inject({ url, headers: { ...t.trader, 'if-none-match': `W/${etag}` } })).statusCode).toBe(304);
    expect((await inject({ url, headers: { ...t.trader, 'if-none-match': '"other"' } })).statusCode).toBe(200);
    // Uncached routes get an ETag from their body too, when the body is large enough to be worth hashing.
    const symbols = (JSON.parse((await inject({ url: '/api/instruments?limit=30', headers: t.trader })).body) as { items: Array<{ symbol: string }> }).items.map((i) => i.symbol);
    const quotesUrl = `/api/market-data/quotes?symbols=${symbols.join(',')}`;
    const quotes = await inject({ url: quotesUrl, headers: t.trader });
    expect(quotes.body.length).toBeGreaterThanOrEqual(HASHED_ETAG_MIN_BYTES);
    expect(quotes.headers.etag).toMatch(/^W\/".+"$/); // weak: compression may follow
    expect((await inject({ url: quotesUrl, headers: { ...t.trader, 'if-none-match': quotes.headers.etag as string } })).statusCode).toBe(304);
    const small = await inject({ url: '/api/market-data/quotes?symbols=AAPL', headers: t.trader });
    expect(small.statusCode).toBe(200);
    expect(small.headers.etag).toBeUndefined();
  });

  it('negotiates brotli, gzip or nothing above the size threshold', async () => {
    const url = '/api/instruments?limit=200';
    const br = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'br, gzip' } });
    expect(br.headers['content-encoding']).toBe('br');
    const plain = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
    const gz = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(plain.body);
    const small = await inject({ url: '/api/instruments?limit=1', headers: { ...t.trader, 'accept-encoding': 'br' } });
    expect(small.headers['content-encoding']).toBeUndefined();

    t.platform.flags.set('http.compression', false);
    expect((await inject({ url, headers: { ...t.trader, 'accept-encoding': 'br' } })).headers['content-encoding']).toBeUndefined();
    t.platform.flags.set('http.compression', true);
  });

  it('a cached body is compressed once per encoding and its bytes served again on hits; q=0 refuses', async () => {
    const url = '/api/instruments?limit=150';
    const first = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'gzip, br;q=0' } });
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(first.headers.vary).toBe('accept-encoding');
    const hit = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'gzip' } });
    expect(hit.headers['cache-status']).toMatch(/hit/);
    expect(hit.rawPayload.equals(first.rawPayload)).toBe(true);
    expect(Number(hit.headers['content-length'])).toBe(hit.rawPayload.length);
    const identity = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'br;q=0, gzip;q=0' } });
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(hit.rawPayload).toString()).toBe(identity.body);
    // Each encoding is its own representation with its own strong ETag.
    expect(hit.headers.etag).not.toBe(identity.headers.etag);
    const revalidated = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'gzip', 'if-none-match': hit.headers.etag as string } });
    expect(revalidated.statusCode).toBe(304);
    const otherEncoding = await inject({ url, headers: { ...t.trader, 'accept-encoding': 'br', 'if-none-match': hit.headers.etag as string } });
    expect(otherEncoding.statusCode).toBe(200);
    expect(otherEncoding.headers['content-encoding']).toBe('br');
    expect(otherEncoding.headers.etag).not.toBe(hit.headers.etag);
  });

  it('cache.enabled off: answers are the same, marked as bypassed', async () => {
    const url = '/api/instruments?limit=7';
    const cached = await inject({ url, headers: t.trader });
    t.platform.flags.set('cache.enabled', false);
    const direct = await inject({ url, headers: t.trader });
    t.platform.flags.set('cache.enabled', true);
    expect(direct.headers['cache-status']).toBe('tachyon; fwd=bypass');
    expect(direct.body).toBe(cached.body);
  });

  it('POST /api/batch runs GETs with the caller’s rights, in order, within its limit', async () => {
    const ok = await inject({
      method: 'POST',
      url: '/api/batch',
      headers: t.trader,
      payload: { requests: [{ path: '/api/instruments?limit=2' }, { path: '/api/market-data/quotes/AAPL' }, { path: '/api/admin/cache/stats' }] },
    });
    expect(ok.statusCode).toBe(200);
    const [instruments, quote, admin] = ok.json().responses;
    expect(instruments).toMatchObject({ status: 200, body: { items: expect.any(Array) }, headers: { 'cache-status': expect.any(String) } });
    expect(quote).toMatchObject({ status: 200, body: { symbol: 'AAPL' } });
    expect(admin.status).toBe(403); // the trader's own rights, not the batch's
    const asAdmin = await inject({ method: 'POST', url: '/api/batch', headers: t.admin, payload: { requests: [{ path: '/api/admin/cache/stats' }] } });
    expect(asAdmin.json().responses[0].status).toBe(200);

    const tooMany = await inject({ method: 'POST', url: '/api/batch', headers: t.trader, payload: { requests: Array.from({ length: 4 }, () => ({ path: '/api/instruments' })) } });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().detail).toContain('at most 3');
    const nested = await inject({ method: 'POST', url: '/api/batch', headers: t.trader, payload: { requests: [{ path: '/api/batch' }] } });
    expect(nested.statusCode).toBe(400);
    expect((await inject({ method: 'POST', url: '/api/batch', payload: { requests: [{ path: '/api/instruments' }] } })).statusCode).toBe(401);
  });

  it('admin stats and invalidation are for admins; invalidation makes the next read a miss', async () => {
    const url = '/api/instruments?limit=3';
    await inject({ url, headers: t.trader });
    expect((await inject({ url: '/api/admin/cache/stats', headers: t.trader })).statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: '/api/admin/cache/invalidate', headers: t.trader, payload: { class: 'instruments' } })).statusCode).toBe(403);
    const stats = await inject({ url: '/api/admin/cache/stats', headers: t.admin });
    expect(stats.json()).toMatchObject({ hitRate: expect.any(Number), l1: { bytes: expect.any(Number), evictions: 0 }, classes: { instruments: { hitsL1: expect.any(Number), misses: expect.any(Number) } } });
    expect((await inject({ method: 'POST', url: '/api/admin/cache/invalidate', headers: t.admin, payload: {} })).statusCode).toBe(400);
    expect((await inject({ method: 'POST', url: '/api/admin/cache/invalidate', headers: t.admin, payload: { class: 'instruments' } })).statusCode).toBe(200);
    expect((await inject({ url, headers: t.trader })).headers['cache-status']).toMatch(/fwd=miss/);
  });
});
