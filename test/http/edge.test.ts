/**
 * The edge protects itself: security headers on every response and a CSP the docs page works
 * with, problem+json for the HTTP parser's and router's errors, a trickled body cut by the request
 * timeout (authenticated or not), failed authentication limited per address, the metrics token
 * compared in constant time, load shed under event-loop pressure.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame } from '../../src/realtime/protocol.ts';
import { eventually, rawSocket, wsUrl } from '../realtime/support.ts';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
/** The API set (http.compact-headers, on by default) on answers that are not documents. */
const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'cross-origin-resource-policy'];
/** helmet's document headers: on HTML, and on everything with the flag off. */
const DOCUMENT_HEADERS = [...SECURITY_HEADERS, 'strict-transport-security', 'x-frame-options', 'cross-origin-opener-policy', 'origin-agent-cluster'];

let t: TestPlatform;
let base: string;

beforeAll(async () => {
  t = await startTestPlatform(pglite, {
    metricsToken: METRICS_TOKEN,
    // trustProxy: x-forwarded-proto says a request came over https (HSTS on API answers).
    http: { ...testConfig().http, requestTimeoutMs: 1000, headersTimeoutMs: 1000, authFailureLimit: 3, authFailureWindowMs: 60_000, trustProxy: true },
  });
  base = await t.platform.listen();
}, 60_000);
afterAll(() => t?.close());

/** Sends raw bytes and collects everything the server writes until it closes the connection. */
function raw(request: string, trickle?: { bytes: number; everyMs: number }): Promise<{ response: string; sentBody: number }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let response = '';
    let sentBody = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('error', () => {}); // the server may reset after answering
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ response, sentBody });
    });
    socket.on('connect', () => {
      socket.write(request);
      if (trickle) {
        timer = setInterval(() => {
          if (sentBody >= trickle.bytes) return reject(new Error('the whole trickled body was accepted'));
          if (socket.writable) socket.write(' ');
          sentBody++;
        }, trickle.everyMs);
      }
    });
  });
}

/** The last response on the connection (an early 401 may precede the timeout's 408). */
function problemOf(response: string): { status: number; contentType: string; body: Record<string, unknown> } {
  const last = response.slice(response.lastIndexOf('HTTP/1.1 '));
  const [head = '', body = ''] = last.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  return { status, contentType, body: JSON.parse(body) as Record<string, unknown> };
}

describe('security headers', () => {
  it('are on every kind of response: success, 401, 403, 404, validation error, problem from a route', async () => {
    const responses = await Promise.all([
      fetch(`${base}/api/health`),
      fetch(`${base}/api/instruments`),
      fetch(`${base}/api/health/detailed`, { headers: t.trader }),
      fetch(`${base}/api/nothing-here`),
      fetch(`${base}/api/instruments?limit=0`, { headers: t.trader }),
      fetch(`${base}/api/market-data/quotes/NOPE`, { headers: t.trader }),
      fetch(`${base}/docs/json`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 401, 403, 404, 400, 404, 200]);
    for (const response of responses) {
      for (const header of SECURITY_HEADERS) expect(response.headers.get(header), `${header} on ${response.url}`).toBeTruthy();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      // Nothing may load or frame a JSON answer opened as a page.
      expect(directives(response.headers.get('content-security-policy') ?? '')).toEqual({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] });
      // HSTS only over https: a browser ignores it over plain HTTP.
      expect(response.headers.get('strict-transport-security'), response.url).toBeNull();
    }
  });

  it("documents (the docs page) get helmet's full set; with http.compact-headers off every response does", async () => {
    for (const url of [`${base}/docs`]) {
      const page = await fetch(url);
      expect(page.status, url).toBe(200);
      expect(page.headers.get('content-type'), url).toContain('text/html');
      for (const header of DOCUMENT_HEADERS) expect(page.headers.get(header), `${header} on ${url}`).toBeTruthy();
    }
    t.platform.flags.set('http.compact-headers', false);
    try {
      const responses = await Promise.all([fetch(`${base}/api/health`), fetch(`${base}/api/market-data/quotes/AAPL`, { headers: t.trader }), fetch(`${base}/api/nothing-here`)]);
      for (const response of responses) {
        for (const header of DOCUMENT_HEADERS) expect(response.headers.get(header), `${header} on ${response.url}`).toBeTruthy();
        expect(directives(response.headers.get('content-security-policy') ?? '')['script-src']).toEqual(["'self'"]);
      }
    } finally {
      t.platform.flags.set('http.compact-headers', true);
    }
  });

  it('HSTS on API answers to requests that came over https (behind a proxy the server trusts)', async () => {
    const overHttps = await t.platform.app.inject({ url: '/api/health', headers: { 'x-forwarded-proto': 'https' } });
    expect(overHttps.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(overHttps.headers['x-content-type-options']).toBe('nosniff');
    expect((await t.platform.app.inject({ url: '/api/health' })).headers['strict-transport-security']).toBeUndefined();
  });

  it('give a CSP the docs page works with: everything it references is same-origin and loads, no inline script', async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    const csp = directives(page.headers.get('content-security-policy') ?? '');
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['connect-src']).toContain("'self'"); // the dashboard's WebSocket and the docs' fetch of /docs/json
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    const html = await page.text();
    // Inline scripts would be blocked by script-src 'self'.
    for (const [, attributes, body] of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(attributes).toMatch(/src=/);
      expect(body!.trim()).toBe('');
    }
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url));
    expect(references.length).toBeGreaterThan(3);
    for (const url of references) {
      expect(url.origin, String(url)).toBe(new URL(base).origin); // 'self' covers it
      const asset = await fetch(url);
      expect(asset.status, String(url)).toBe(200);
    }
    // The initializer fetches the OpenAPI document from this origin (connect-src 'self').
    const initializer = await (await fetch(new URL('./static/swagger-initializer.js', `${base}/docs/`))).text();
    const specUrl = /url:\s*['"]([^'"]+)['"]/.exec(initializer)?.[1];
    if (specUrl) expect(new URL(specUrl, `${base}/docs/`).origin).toBe(new URL(base).origin);
    expect((await fetch(`${base}/docs/json`)).status).toBe(200);
  });
});

function directives(csp: string): Record<string, string[]> {
  return Object.fromEntries(
    csp.split(';').map((d) => d.trim().split(/\s+/)).filter((parts) => parts[0]).map(([name, ...values]) => [name!, values]),
  );
}

describe('parser and router errors are problem+json', () => {
  it('bad percent-encoding in the path', async () => {
    const res = await fetch(`${base}/api/market-data/quotes/%E0%A4%A`, { headers: t.trader });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 400, code: 'bad_url', detail: expect.any(String) });
    for (const header of SECURITY_HEADERS) expect(res.headers.get(header), header).toBeTruthy();
  });

  it('a path parameter longer than the router accepts', async () => {
    const res = await fetch(`${base}/api/market-data/quotes/${'A'.repeat(300)}`, { headers: t.trader });
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('a URI or headers larger than the parser accepts', async () => {
    for (const request of [
      `GET /api/instruments?q=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: t\r\n\r\n`,
      `GET /api/instruments HTTP/1.1\r\nHost: t\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const { status, contentType, body } = problemOf((await raw(request)).response);
      expect(status).toBe(431);
      expect(contentType).toContain('application/problem+json');
      expect(body).toMatchObject({ status, detail: expect.any(String) });
    }
  });

  it('a request that is not HTTP', async () => {
    const { status, contentType, body } = problemOf((await raw('HELLO\r\n\r\n')).response);
    expect(status).toBe(400);
    expect(contentType).toContain('application/problem+json');
    expect(body).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('malformed JSON and an unsupported content type', async () => {
    const malformed = await fetch(`${base}/api/orders`, { method: 'POST', headers: { ...t.trader, 'content-type': 'application/json' }, body: '{"symbol":' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');
    const unsupported = await fetch(`${base}/api/orders`, { method: 'POST', headers: { ...t.trader, 'content-type': 'text/xml' }, body: '<order/>' });
    expect(unsupported.status).toBe(415);
    expect(unsupported.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('request timeouts', () => {
  const trickled = (authorization?: string) =>
    `POST /api/orders HTTP/1.1\r\nHost: t\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`;

  it.each([
    ['without a token', undefined],
    ['with a valid token', `Bearer ${'test-demo-token-0123456789'}`],
  ])('cut a body trickled a byte at a time, %s, with 408 problem+json', async (_label, authorization) => {
    // 10,000 bytes at one per 100 ms would take 1,000 s; the request timeout is 1 s.
    const { response, sentBody } = await raw(trickled(authorization), { bytes: 10_000, everyMs: 100 });
    expect(sentBody).toBeLessThan(10_000);
    const { status, contentType, body } = problemOf(response);
    expect(status).toBe(408);
    expect(contentType).toContain('application/problem+json');
    expect(body).toMatchObject({ status: 408, code: 'request_timeout' });
  }, 20_000);

  it('cut headers that never end', async () => {
    const { response, sentBody } = await raw('GET /api/health HTTP/1.1\r\nHost: t\r\nX-Slow: ', { bytes: 10_000, everyMs: 100 });
    expect(sentBody).toBeLessThan(10_000);
    expect(problemOf(response)).toMatchObject({ status: 408, body: { code: 'request_timeout' } });
  }, 20_000);
});

describe('failed authentication', () => {
  it('is limited per client address: 429 with Retry-After past the limit; known tokens and other addresses unaffected', async () => {
    const inject = (authorization: string, remoteAddress = '198.51.100.7') => t.platform.app.inject({ url: '/api/instruments', headers: { authorization }, remoteAddress });
    expect((await inject(t.trader.authorization)).statusCode).toBe(200); // now a known token
    for (let i = 0; i < 3; i++) expect((await inject(`Bearer guess-${i}`)).statusCode).toBe(401);
    const limited = await inject('Bearer guess-3');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    // The limited address cannot even try a fresh token, but one it already proved keeps working.
    expect((await inject(t.admin.authorization)).statusCode).toBe(429);
    expect((await inject(t.trader.authorization)).statusCode).toBe(200);
    // Another address is not affected; a missing token is not a guess and is not counted.
    expect((await inject('Bearer guess-4', '198.51.100.8')).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await t.platform.app.inject({ url: '/api/instruments', remoteAddress: '198.51.100.9' })).statusCode).toBe(401);
  });
});

describe('metrics token', () => {
  it('opens /metrics only when equal (hash comparison, any length)', async () => {
    const scrape = (authorization?: string) => t.platform.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {}, remoteAddress: '203.0.113.1' });
    expect((await scrape(`Bearer ${METRICS_TOKEN}`)).statusCode).toBe(200);
    expect((await scrape(`Bearer ${METRICS_TOKEN.slice(0, -1)}x`)).statusCode).toBe(401);
    expect((await scrape(`Bearer ${METRICS_TOKEN}0`)).statusCode).toBe(401);
    expect((await scrape()).statusCode).toBe(401);
  });
});

describe('failed WebSocket authentication', () => {
  it('counts against the client address like a refused header: past the limit the auth frame is refused as rate_limited', async () => {
    const attempt = async (token: string) => {
      const ws = await rawSocket(wsUrl(base));
      ws.send({ type: 'auth', token });
      const error = await ws.next<ErrorFrame>((f) => f.type === 'error');
      await eventually(() => ws.closed() !== undefined, 'the close');
      return error.code;
    };
    for (let i = 0; i < 3; i++) expect(await attempt(`ws-guess-${i}`)).toBe('unauthorized');
    expect(await attempt('ws-guess-3')).toBe('rate_limited');
    // The limit is shared with HTTP: the same address is refused there too.
    expect((await fetch(`${base}/api/instruments`, { headers: { authorization: 'Bearer http-guess' } })).status).toBe(429);
  });
});
