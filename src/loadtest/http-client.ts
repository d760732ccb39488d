/**
 * HTTP for scenarios, on an undici Agent: one keep-alive pool per origin, `connections` sockets each.
 * Like k6, failed requests do not throw: they come back with status 0 and count in http_req_failed.
 *
 * Latency metrics (ms):
 *  - http_req_duration: from when the request was due. In the open model the first request of an
 *    iteration is charged the iteration's start lag (wrk2's "response time"), so a stalled server
 *    cannot hide behind a generator that stopped sending (coordinated omission).
 *  - http_req_service_time: from the actual send (wrk2's "service time"), blind to that omission; kept
 *    so the two can be compared.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
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
  readonly agent: Agent;
  constructor(connectionsPerOrigin: number) {
    this.agent = new Agent({ connections: connectionsPerOrigin, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  }
  close(): Promise<void> {
    return this.agent.destroy();
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
  const baseOrigin = base.origin;
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
    let origin = baseOrigin;
    let path = url;
    if (!url.startsWith('/')) {
      const parsed = new URL(url, base);
      assertHostAllowed(guardrails, parsed);
      origin = parsed.origin;
      path = parsed.pathname + parsed.search;
    }
    const headers: Record<string, string> = { ...options.headers };
    let payload: string | Buffer | undefined;
    if (body !== undefined && body !== null) {
      if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
      else {
        payload = JSON.stringify(body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const chargedLag = lag.lagMs;
    lag.lagMs = 0;
    const start = performance.now();
    let status = 0;
    let text = '';
    let error: string | undefined;
    let responseHeaders: HttpResponse['headers'] = {};
    try {
      const res: Dispatcher.ResponseData = await transport.agent.request({
        origin,
        path,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: payload,
        signal,
        headersTimeout: options.timeoutMs ?? 60_000,
        bodyTimeout: options.timeoutMs ?? 60_000,
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      if (options.discardBody) await res.body.dump();
      else text = await res.body.text();
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
    return {
      status,
      headers: responseHeaders,
      body: text,
      error,
      durationMs: serviceMs,
      json<T>() {
        return JSON.parse(text) as T;
      },
    };
  }

  return {
    request,
    get: (url, options) => request('GET', url, undefined, options),
    post: (url, body, options) => request('POST', url, body, options),
    put: (url, body, options) => request('PUT', url, body, options),
    delete: (url, options) => request('DELETE', url, undefined, options),
  };
}
