/**
 * The fast lane (src/http/fast-lane.ts) answers the cached quote exactly as Fastify does: every case
 * is sent over a real socket twice, once with `http.fast-lane` on and once off, each in a fresh
 * rate-limit window (Date is frozen and moved on by a window between them, so the limit headers
 * match too, and by less than the token cache's TTL in all, so the lane always finds the token), and
 * status, headers (all but Date) and body must be equal; the lane's counters show which path answered.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const LIMIT = 4;
const QUOTE = '/api/market-data/quotes/AAPL';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let t: TestPlatform;
let port: number;
let now = Date.now();

beforeAll(async () => {
  t = await startTestPlatform(pglite, { port: 28_500, http: { ...testConfig().http, rateLimitPerSecond: LIMIT } });
  port = Number(new URL(await t.platform.listen()).port);
  // The token is in the authenticator's cache from here on (the lane answers only cached tokens).
  await send(QUOTE, t.trader);
  now = Date.now();
}, 60_000);
afterAll(() => t?.close());
afterEach(() => {
  vi.useRealTimers();
  t.platform.flags.set('http.fast-lane', true);
});

function send(path: string, headers: Record<string, string | string[]> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode ?? 0, headers: rest, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The same requests with the lane on and off, each side from the start of its own rate-limit window. */
async function bothWays(requests: () => Promise<Answer[]>): Promise<{ lane: Answer[]; fastify: Answer[]; answered: number; passed: number }> {
  vi.useFakeTimers({ toFake: ['Date'] });
  const before = t.platform.fastLane.stats();
  vi.setSystemTime((now += 1_100));
  const lane = await requests();
  const after = t.platform.fastLane.stats();
  t.platform.flags.set('http.fast-lane', false);
  vi.setSystemTime((now += 1_100));
  const fastify = await requests();
  t.platform.flags.set('http.fast-lane', true);
  return { lane, fastify, answered: after.answered - before.answered, passed: after.passed - before.passed };
}

describe('fast lane answers as Fastify does', () => {
  it('200 with the ETag, security and cache headers (no limit headers in the first half of the budget)', async () => {
    const r = await bothWays(async () => [await send(QUOTE, t.trader), await send(QUOTE.toLowerCase(), t.trader)]);
    expect(r.lane).toEqual(r.fastify);
    expect(r.lane[0]).toMatchObject({ status: 200, headers: { 'cache-control': 'private, no-cache', 'x-content-type-options': 'nosniff' } });
    expect(r.lane[0]!.headers['x-ratelimit-limit']).toBeUndefined();
    expect(JSON.parse(r.lane[1]!.body)).toMatchObject({ symbol: 'AAPL' });
    expect(r.answered).toBe(2);
  });

  it('304 for a matching If-None-Match, 200 for another', async () => {
    const etag = (await send(QUOTE, t.trader)).headers.etag as string;
    const r = await bothWays(async () => [await send(QUOTE, { ...t.trader, 'if-none-match': etag }), await send(QUOTE, { ...t.trader, 'if-none-match': `"x", ${etag.slice(2)}` }), await send(QUOTE, { ...t.trader, 'if-none-match': '"other"' })]);
    expect(r.lane).toEqual(r.fastify);
    expect(r.lane.map((a) => a.status)).toEqual([304, 304, 200]);
    expect(r.lane[0]!.body).toBe('');
    expect(r.answered).toBe(3);
  });

  it('HEAD: the headers of the GET, no body', async () => {
    const r = await bothWays(async () => [await send(QUOTE, t.trader, 'HEAD')]);
    expect(r.lane).toEqual(r.fastify);
    expect(r.lane[0]).toMatchObject({ status: 200, body: '' });
    expect(Number(r.lane[0]!.headers['content-length'])).toBeGreaterThan(0);
    expect(r.answered).toBe(1);
  });

  it('Accept-Encoding gzip: a quote is below the compression threshold, sent as it is', async () => {
    const r = await bothWays(async () => [await send(QUOTE, { ...t.trader, 'accept-encoding': 'gzip, br' })]);
    expect(r.lane).toEqual(r.fastify);
    expect(r.lane[0]!.headers['content-encoding']).toBeUndefined();
    expect(r.answered).toBe(1);
  });

  it('401 without a token or with a bad one: left to Fastify', async () => {
    const r = await bothWays(async () => [await send(QUOTE), await send(QUOTE, { authorization: 'Bearer not-a-token-0123456789' })]);
    const withoutRequestIds = (answers: Answer[]) => answers.map((a) => ({ ...a, body: JSON.parse(a.body) as Record<string, unknown> })).map((a) => ({ ...a, body: { ...a.body, requestId: undefined } }));
    expect(withoutRequestIds(r.lane)).toEqual(withoutRequestIds(r.fastify));
    expect(r.lane.map((a) => a.status)).toEqual([401, 401]);
    expect(r.lane[0]!.headers['content-type']).toContain('application/problem+json');
    expect(r.answered).toBe(0);
    expect(r.passed).toBe(2);
  });

  it('404 for an unknown symbol, 400 for an invalid one: left to Fastify', async () => {
    const r = await bothWays(async () => [await send('/api/market-data/quotes/NOPE', t.trader), await send('/api/market-data/quotes/A%00B', t.trader)]);
    expect(r.lane.map((a) => a.status)).toEqual([404, 400]);
    expect(r.lane.map((a) => a.status)).toEqual(r.fastify.map((a) => a.status));
    expect(r.lane[0]!.headers).toEqual(r.fastify[0]!.headers);
    expect(r.answered).toBe(0);
  });

  it('odd paths and headers: the same status and headers either way', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['/api/market-data/quotes/AAPL?x=1', t.trader],
      ['/api/market-data/quotes/AAPL/', t.trader],
      ['/api/market-data/quotes/%41APL', t.trader],
      ['/api/market-data/quotes/..', t.trader],
      ['/api/market-data/quotes/ABCDEFGHIJKLM', t.trader],
      ['/api/market-data/quotes/', t.trader],
      ['/API/market-data/quotes/AAPL', t.trader],
      [QUOTE, { ...t.trader, traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` }],
      [QUOTE, { ...t.trader, 'x-forwarded-proto': 'https' }],
      [QUOTE, { authorization: t.trader.authorization.toLowerCase() }],
    ];
    const r = await bothWays(async () => Promise.all(cases.map(([path, headers]) => send(path, headers))));
    const shape = (answers: Answer[]) => answers.map((a) => [a.status, { ...a.headers, 'x-ratelimit-remaining': undefined, 'content-length': undefined }]);
    expect(shape(r.lane)).toEqual(shape(r.fastify));
  });

  it('header names in any case: answered by the lane as Fastify answers them', async () => {
    const token = t.trader.authorization;
    let etag = '';
    const r = await bothWays(async () => [
      await send(QUOTE, { Authorization: token }).then((a) => ((etag = a.headers.etag as string), a)),
      await send(QUOTE, { Authorization: token, 'If-None-Match': etag }),
      await send(QUOTE, { AUTHORIZATION: token, 'IF-NONE-MATCH': '"other"' }),
      // Repeated: node keeps the first Authorization and joins the If-None-Match lines.
      await send(QUOTE, { authorization: [token, 'Bearer not-a-token-0123456789'], 'if-none-match': ['"other"', etag] }),
    ]);
    expect(r.lane).toEqual(r.fastify);
    expect(r.lane.map((a) => a.status)).toEqual([200, 304, 200, 304]);
    expect(r.answered).toBe(4);
  });

  it('a body, a forwarded protocol or an internal ticket, in any case: left to Fastify', async () => {
    const cases: Array<Record<string, string>> = [
      { ...t.trader, 'Content-Length': '0' },
      { ...t.trader, 'X-Forwarded-Proto': 'https' },
      { ...t.trader, 'X-Tachyon-Internal-Ticket': 'not-a-ticket' },
    ];
    const r = await bothWays(async () => {
      const answers: Answer[] = [];
      for (const headers of cases) answers.push(await send(QUOTE, headers));
      return answers;
    });
    expect(r.lane.map((a) => [a.status, a.headers])).toEqual(r.fastify.map((a) => [a.status, a.headers]));
    expect(r.answered).toBe(0);
    expect(r.passed).toBe(3);
  });

  it('429 past the limit: the lane counts within it, Fastify answers past it; limit headers from half the budget on', async () => {
    const burst = async () => {
      const answers: Answer[] = [];
      for (let i = 0; i <= LIMIT; i++) answers.push(await send(QUOTE, t.trader));
      return answers;
    };
    const r = await bothWays(burst);
    expect(r.lane.map((a) => a.status)).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(r.lane.map((a) => [a.status, a.headers])).toEqual(r.fastify.map((a) => [a.status, a.headers]));
    expect(r.lane[LIMIT]!.headers['retry-after']).toBeDefined();
    expect(r.lane.map((a) => a.headers['x-ratelimit-remaining'])).toEqual([undefined, undefined, '1', '0', '0']);
    expect(r.lane.map((a) => a.headers['x-ratelimit-limit'])).toEqual([undefined, undefined, String(LIMIT), String(LIMIT), String(LIMIT)]);
    expect(r.answered).toBe(LIMIT);
    expect(r.passed).toBe(1);
  });

  it('counts in the HTTP metrics under the route template', async () => {
    await send(QUOTE, t.trader);
    const res = await t.platform.app.inject({ url: '/metrics', headers: t.admin });
    expect(res.body).toMatch(/tachyon_http_request_duration_seconds_count\{method="GET",route="\/api\/market-data\/quotes\/:symbol",status_code="200"\} \d+/);
    expect(res.body).toMatch(/tachyon_http_fast_lane_answered_total \d+/);
  });
});
