/**
 * The fast lane: the hottest cached GET routes (today the latest quote of one symbol) answered in
 * node's `request` listener, before Fastify's router, hooks and reply, with the same components the
 * Fastify path uses and the same answer byte for byte (test/http/fast-lane.test.ts compares them):
 * the auth token cache (access control), the in-process rate-limit counters (one limit for both
 * paths), load shedding's state, the compact security headers, the route's weak ETag with
 * If-None-Match → 304, `Cache-Control: private, no-cache` for an answer that needed a token, and the
 * HTTP telemetry's series, windows and SLO counts under the route's template.
 *
 * It answers only the plain case and gives everything else to Fastify untouched, so every rule and
 * every error answer (problem+json) stays Fastify's: a token not in the cache (unknown, expired, bad:
 * 401 there), a request past the rate limit (uncounted here: the route's check counts it and answers
 * 429), any request while the limit is counted in Redis (shared by instances: the route's check counts
 * each), shedding, an unknown symbol or a parameter that is not plainly valid (404 / 400), any method
 * but GET and HEAD, a request with a body, an internal ticket, https or a forwarded protocol (HSTS),
 * the full header set (`http.compact-headers` off), ETags off for the caller, a body the compressor
 * could encode, a live trace or log context, a running flag experiment or injected fault, a server
 * closing. Why it exists: on a cached quote Fastify's routing, hook chain and reply cost more than the
 * work (docs/benchmarks.md, "Cached read fast lane"); flag `http.fast-lane` switches it off.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.ts';
import type { FlagAccessor } from '../config/flags.ts';
import type { HttpTelemetry } from '../observability/http.ts';
import { INTERNAL_TICKET_HEADER } from './access.ts';
import type { LoadShedding } from './load-shedding.ts';
import { weakMatch } from './optimizations/http-optimizations.ts';
import { limitHeaders, showsLimit, type LocalRateLimit } from './rate-limit.ts';
import { API_HEADERS } from './security-headers.ts';

/** What a fast route answers: the serialized 200 body and its ETag (the route's own validator). */
export interface FastAnswer {
  body: string;
  etag: string;
}

export interface FastRoute {
  /** The path up to the one parameter, e.g. `/api/market-data/quotes/`. */
  prefix: string;
  /** Fastify's route template (metrics label), e.g. `/api/market-data/quotes/:symbol`. */
  template: string;
  /** The answer for the raw rest of the path; undefined hands the request to Fastify (invalid, unknown). */
  answer(param: string): FastAnswer | undefined;
}

export interface FastLaneOptions {
  enabled: FlagAccessor;
  authenticator: Authenticator;
  /** `http.compact-headers`: off sends helmet's full set, which the lane does not write. */
  compactHeaders: () => boolean;
  /** `http.etag` by account. */
  etag: FlagAccessor;
  /** @fastify/compress's threshold: a body this long may be encoded, so Fastify answers it. */
  compressAboveBytes: number;
  telemetry: HttpTelemetry;
  logger: Logger;
  /** Whether some other per-request work is active (a flag experiment recording, an injected fault). */
  busy: () => boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** The compact set's headers, as Fastify's onSend writes them (security-headers.ts). */
const SECURITY = Object.entries(API_HEADERS).flat();
/** An answer that needed a token (http-optimizations.ts `keepPrivate`: the route set no Cache-Control). */
const CACHE_CONTROL = 'private, no-cache';

export class FastLane {
  private readonly routes: FastRoute[] = [];
  private closing = false;
  private limit: LocalRateLimit | 'shared' | undefined;
  private shedding: LoadShedding | undefined;
  private answered = 0;
  private passed = 0;

  constructor(private readonly options: FastLaneOptions) {}

  /** Requests answered here and requests of a fast route handed to Fastify (collector `http_fast_lane`). */
  stats(): { answered: number; passed: number } {
    return { answered: this.answered, passed: this.passed };
  }

  route(route: FastRoute): void {
    this.routes.push(route);
  }

  /**
   * Puts the lane in front of Fastify's `request` listener on `app.server`; call after the limiter
   * and shedding are installed (it reads their decorations).
   */
  install(app: FastifyInstance): void {
    this.limit = app.requestRateLimit;
    this.shedding = app.hasDecorator('loadShedding') ? app.loadShedding : undefined;
    // A closing server answers 503 (Fastify's return503OnClosing): no lane from then on.
    app.addHook('preClose', (done) => {
      this.closing = true;
      done();
    });
    const server = app.server;
    const fastify = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const outcome = this.serve(req, res);
      if (outcome === 'answered') return;
      if (outcome === 'passed') this.passed++;
      for (const listener of fastify) listener.call(server, req, res);
    });
  }

  /**
   * Answers `req` (`answered`), or writes nothing and leaves it to Fastify: `passed` for a fast route's
   * request it would not answer, `other` for the rest.
   */
  private serve(req: IncomingMessage, res: ServerResponse): 'answered' | 'passed' | 'other' {
    const started = performance.now();
    const method = req.method;
    if ((method !== 'GET' && method !== 'HEAD') || this.closing || !this.options.enabled()) return 'other';
    const url = req.url ?? '';
    const route = this.routes.find((r) => url.startsWith(r.prefix));
    if (!route) return 'other';
    const headers = req.headers;
    if (
      headers['content-length'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      headers[INTERNAL_TICKET_HEADER] !== undefined ||
      headers['x-forwarded-proto'] !== undefined ||
      (req.socket as TLSSocket).encrypted ||
      this.limit === 'shared' ||
      this.shedding?.shedding() !== undefined ||
      !this.options.compactHeaders() ||
      this.options.busy() ||
      !this.options.telemetry.passive(headers.traceparent)
    ) {
      return 'passed';
    }
    const principal = this.options.authenticator.cachedPrincipal(headers.authorization);
    if (!principal || !this.options.etag(principal.accountIds[0])) return 'passed';
    const answer = route.answer(url.slice(route.prefix.length));
    const length = answer ? Buffer.byteLength(answer.body) : 0;
    if (!answer || length >= this.options.compressAboveBytes) return 'passed';
    // Counted last, only for a request answered here; the limit headers only when due (rate-limit.ts).
    let limit: ReturnType<typeof limitHeaders> | undefined;
    if (this.limit) {
      const now = Date.now();
      const window = this.limit.hitUserWithin(principal.userId, now);
      if (!window) return 'passed';
      if (showsLimit(this.limit.max, window.count)) limit = limitHeaders(this.limit.max, window.count, window.endsAt - now);
    }
    const notModified = weakMatch(headers['if-none-match'], answer.etag);
    const status = notModified ? 304 : 200;
    const head = ['etag', answer.etag, 'content-type', JSON_TYPE, ...SECURITY, 'cache-control', CACHE_CONTROL, 'content-length', notModified ? 0 : length];
    if (limit) head.push(...limit);
    res.writeHead(status, head);
    // node sends no body for HEAD.
    if (notModified) res.end();
    else res.end(answer.body);
    this.options.telemetry.record(req, route.template, status, performance.now() - started, this.options.logger);
    this.answered++;
    return 'answered';
  }
}
