/**
 * HTTP for scenarios, on the generator's own HTTP/1.1 client (./http1/pool.ts): one keep-alive pool per
 * origin, `connections` sockets each.
 * Like k6, failed requests do not throw: they come back with status 0 and count in http_req_failed.
 *
 * Latency metrics (ms):
 *  - http_req_duration: from when the request was due. In the open model the first request of an
 *    iteration is charged the iteration's start lag (wrk2's "response time"), so a stalled server
 *    cannot hide behind a generator that stopped sending (coordinated omission).
 *  - http_req_service_time: from the actual send (wrk2's "service time"), blind to that omission; kept
 *    so the two can be compared.
 */
import { Exchange, OriginPool } from './http1/pool.ts';
import type { Http1Response } from './http1/pool.ts';
import { parseHeaders } from './http1/response-parser.ts';
import { assertHostAllowed } from './guardrails.ts';
import type { Guardrails } from './guardrails.ts';
import type { MetricsRegistry, Series, Tags } from './metrics.ts';
import { epochNowMs } from './metrics.ts';

export interface HttpRequestOptions {
  headers?: Record<string, string>;
  tags?: Tags;
  /** Skip reading the body into memory (it is still drained so the socket is reused). */
  discardBody?: boolean;
  timeoutMs?: number;
}

export interface HttpResponse {
  /** 0 when the request failed before a response (connection refused, timeout, abort). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
  /** Measured from the actual send. */
  durationMs: number;
  json<T = unknown>(): T;
}

export interface HttpClient {
  request(method: string, url: string, body?: unknown, options?: HttpRequestOptions): Promise<HttpResponse>;
  get(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  post(url: string, body?: unknown, options?: HttpRequestOptions): Promise<HttpResponse>;
  put(url: string, body?: unknown, options?: HttpRequestOptions): Promise<HttpResponse>;
  delete(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
}

/** One per thread: the connection pools every VU of that thread shares. */
export class HttpTransport {
  private readonly pools = new Map<string, OriginPool>();
  constructor(private readonly connectionsPerOrigin: number) {}

  pool(origin: URL): OriginPool {
    let pool = this.pools.get(origin.origin);
    if (!pool) this.pools.set(origin.origin, (pool = new OriginPool(origin, this.connectionsPerOrigin)));
    return pool;
  }

  close(): Promise<void> {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    return Promise.resolve();
  }
}

/**
 * In-flight exchanges of one client, aborted together when its run's signal fires (one listener for the
 * whole run instead of one per request).
 */
class InFlight {
  private readonly exchanges = new Set<Exchange>();
  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => {
      const reason = signal.reason instanceof Error ? signal.reason : new Error('aborted');
      for (const exchange of this.exchanges) exchange.abort(reason);
      this.exchanges.clear();
    }, { once: true });
  }

  send(pool: OriginPool, bytes: Buffer, method: string, timeoutMs: number, discardBody: boolean): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) return reject(new Error('aborted'));
      pool.dispatch(new Exchange(bytes, method, timeoutMs, discardBody, this.exchanges, resolve, reject));
    });
  }
}

/** A response whose headers are parsed on first read: most load-test iterations never look at them. */
class ScenarioResponse implements HttpResponse {
  private parsed: HttpResponse['headers'] | undefined;
  constructor(
    readonly status: number,
    private readonly head: string,
    readonly body: string,
    readonly error: string | undefined,
    readonly durationMs: number,
  ) {}

  get headers(): HttpResponse['headers'] {
    return (this.parsed ??= parseHeaders(this.head));
  }

  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }
}

/** Start lag the executor hands to the VU's next request (see module comment); mutated per iteration. */
export interface LagCarrier {
  lagMs: number;
}

export interface HttpClientDeps {
  transport: HttpTransport;
  metrics: MetricsRegistry;
  base: URL;
  guardrails: Guardrails;
  baseTags: Tags;
  lag: LagCarrier;
  signal: AbortSignal;
}

export function createHttpClient(deps: HttpClientDeps): HttpClient {
  const { transport, metrics, base, guardrails, baseTags, lag, signal } = deps;
  assertHostAllowed(guardrails, base);
  const inFlight = new InFlight(signal);
  const basePool = transport.pool(base);
  // Series handles per distinct (method, endpoint, status, tags): building tag keys per request would
  // cost more than the histogram records themselves at tens of thousands of requests per second.
  const seriesCache = new Map<string, { reqs: Series; duration: Series; service: Series; failed: Series }>();
  const seriesFor = (method: string, path: string, status: number, extra: Tags | undefined) => {
    const endpoint = extra?.endpoint ?? extra?.name ?? path.split('?', 1)[0] ?? path;
    const cacheKey = `${method} ${status} ${endpoint} ${extra ? JSON.stringify(extra) : ''}`;
    let handles = seriesCache.get(cacheKey);
    if (!handles) {
      const tags: Tags = { ...baseTags, method, endpoint, status: String(status), ...extra };
      handles = {
        reqs: metrics.handle('http_reqs', 'counter', tags),
        duration: metrics.handle('http_req_duration', 'trend', tags),
        service: metrics.handle('http_req_service_time', 'trend', tags),
        failed: metrics.handle('http_req_failed', 'rate', tags),
      };
      seriesCache.set(cacheKey, handles);
    }
    return handles;
  };

  async function request(method: string, url: string, body?: unknown, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    // Relative paths (the hot case) skip URL parsing; absolute URLs are checked against the guardrails.
    let origin = base;
    let path = url;
    if (!url.startsWith('/')) {
      origin = new URL(url, base);
      assertHostAllowed(guardrails, origin);
      path = origin.pathname + origin.search;
    }
    const chargedLag = lag.lagMs;
    lag.lagMs = 0;
    let start = performance.now();
    let status = 0;
    let text = '';
    let error: string | undefined;
    let head = '';
    try {
      let headers = options.headers;
      let payload: Buffer | undefined;
      if (body !== undefined && body !== null) {
        if (Buffer.isBuffer(body)) payload = body;
        else if (typeof body === 'string') payload = Buffer.from(body);
        else {
          payload = Buffer.from(JSON.stringify(body));
          if (!headers || !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers = { ...headers, 'content-type': 'application/json' };
        }
      }
      const pool = origin === base ? basePool : transport.pool(origin);
      const { bytes } = pool.templates.build(method, path, headers, payload);
      start = performance.now();
      const res = await inFlight.send(pool, bytes, method, options.timeoutMs ?? 60_000, options.discardBody === true);
      status = res.status;
      head = res.head;
      text = res.body;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const end = performance.now();
    const serviceMs = end - start;
    const series = seriesFor(method, path, status, options.tags);
    const at = epochNowMs();
    metrics.counterOn(series.reqs, 1, at);
    metrics.trendOn(series.duration, serviceMs + chargedLag, at);
    metrics.trendOn(series.service, serviceMs, at);
    metrics.rateOn(series.failed, status === 0 || status >= 400, at);
    return new ScenarioResponse(status, head, text, error, serviceMs);
  }

  return {
    request,
    get: (url, options) => request('GET', url, undefined, options),
    post: (url, body, options) => request('POST', url, body, options),
    put: (url, body, options) => request('PUT', url, body, options),
    delete: (url, options) => request('DELETE', url, undefined, options),
  };
}
