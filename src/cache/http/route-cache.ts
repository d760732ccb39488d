/**
 * Route-level caching: a GET handler hands over its cache key and loader; the response body is
 * serialized once from the route's schema and stored with its ETag, so a hit is a string send;
 * compressed variants are made once per stored body and encoding, so a compressed hit is a
 * buffer send (@fastify/compress leaves a response that already has a Content-Encoding alone).
 * Sets Cache-Control per data class and caller, `Cache-Status` (RFC 9211) and `Age` so clients and
 * operators see what the cache did. With the cache off, identical concurrent requests still share one load.
 *
 * Cache-Control rules (each has a test in test/cache/cache-headers.test.ts):
 * - an answer to an authenticated request is `private`: shared caches never keep a user's data;
 * - private classes (money, a user's strategies) are revalidated on every use (`no-cache` + ETag);
 * - data that can still change lives no longer than the route's `maxAgeS` (open bar ranges: until the
 *   next minute, so never longer than a bar interval);
 * - only a final answer that has data is `immutable`: an empty closed range may yet be backfilled.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpFlags } from '../flags.ts';
import type { DataClass } from '../policies.ts';
import type { Cached, TieredCache } from '../tiered-cache.ts';
import { BROTLI_OPTIONS, etagOf, GZIP_OPTIONS } from '../../http/optimizations/http-optimizations.ts';

export interface CachedResponse {
  body: string;
  etag: string;
  /** Judged once at load (RouteCacheSpec.immutable) and kept with the body for every hit. */
  immutable?: boolean;
}

export interface RouteCacheSpec {
  cls: DataClass;
  /** Identifies the response within its class (path and normalized query). */
  key: string;
  /** Required for private classes: the key is scoped to it, so users never share entries. */
  account?: number;
  tags?: string[];
  /**
   * Whether the loaded answer can no longer change (a closed historical range that has data): HTTP
   * caches may then keep it for a year. Judged on the value, since an empty answer may be backfilled.
   */
  immutable?: (value: unknown) => boolean;
  /** HTTP freshness ceiling in seconds for data that changes on a schedule (an open bar range). */
  maxAgeS?: number;
  /** The answer when the loader resolves `undefined` (nothing to serve yet: nothing is cached); without it that is an error. */
  absent?: (reply: FastifyReply) => FastifyReply;
}

const IMMUTABLE_MAX_AGE_S = 31_536_000;

/** Sends the (cached) serialized body itself and resolves to the reply, as an async handler may return. */
export type RouteCache = (request: FastifyRequest, reply: FastifyReply, spec: RouteCacheSpec, load: () => Promise<unknown>) => Promise<FastifyReply>;

type Encoding = 'br' | 'gzip';

export function routeCache(cache: TieredCache, flags: HttpFlags, compressAboveBytes: number): RouteCache {
  const inflight = new Map<string, Promise<Cached<CachedResponse | undefined>>>();
  // Keyed by the stored object, which L1 holds by reference: a variant lives as long as its entry.
  const variants = new WeakMap<CachedResponse, Partial<Record<Encoding, Buffer>>>();
  const compressed = (response: CachedResponse, encoding: Encoding): Buffer => {
    let byEncoding = variants.get(response);
    if (!byEncoding) variants.set(response, (byEncoding = {}));
    return (byEncoding[encoding] ??= encoding === 'br' ? brotliCompressSync(response.body, BROTLI_OPTIONS) : gzipSync(response.body, GZIP_OPTIONS));
  };

  /** With the cache off, identical concurrent requests still share one load. */
  const shared = async (id: string, pending: () => Promise<Cached<CachedResponse | undefined>>): Promise<Cached<CachedResponse | undefined>> => {
    const running = inflight.get(id);
    if (running) return { ...(await running), status: 'collapsed' };
    const started = pending();
    inflight.set(id, started);
    try {
      return await started;
    } finally {
      inflight.delete(id);
    }
  };

  return async function cached(request, reply, spec, load) {
    const policy = cache.policy(spec.cls);
    const key = entryKey(cache, spec);
    const loader = async (): Promise<CachedResponse | undefined> => {
      const value = await load();
      if (value === undefined) return undefined;
      const body = reply.serialize(value) as string;
      return spec.immutable?.(value) ? { body, etag: etagOf(body), immutable: true } : { body, etag: etagOf(body) };
    };

    const account = request.principal?.accountIds[0];
    // Only bypassed loads need coalescing here; the cache already runs one loader per key.
    const result =
      cache.isEnabled || !flags.coalesce(account)
        ? await cache.get(spec.cls, key, loader, spec.tags)
        : await shared(`${spec.cls}:${key}`, () => cache.get(spec.cls, key, loader, spec.tags));

    if (result.value === undefined) {
      if (!spec.absent) throw new Error(`the loader of ${spec.cls}:${spec.key} found nothing and the route has no answer for that`);
      return spec.absent(reply);
    }
    // Length in characters stands for bytes: the JSON bodies here are ASCII but for rare names.
    const encoding = flags.compression(account) && result.value.body.length >= compressAboveBytes ? negotiate(request.headers['accept-encoding']) : undefined;
    reply.header('content-type', 'application/json; charset=utf-8');
    // A strong ETag names one representation (RFC 9110 §8.8.3): each encoding gets its own.
    reply.header('etag', encoding ? `${result.value.etag.slice(0, -1)}-${encoding}"` : result.value.etag);
    if (flags.cacheHeaders(account)) {
      const now = Date.now();
      const freshS = Math.min(Math.max(0, Math.floor((result.expiresAt - now) / 1000)), spec.maxAgeS ?? Infinity);
      const visibility = policy.visibility === 'private' || request.principal !== undefined ? 'private' : 'public';
      reply.header('cache-control', cacheControl(visibility, policy.visibility === 'private', result.value.immutable === true, freshS));
      reply.header('cache-status', cacheStatus(result, now));
      if (result.status === 'hit' || result.status === 'stale') reply.header('age', Math.max(0, Math.floor((now - result.createdAt) / 1000)));
    }
    // Negotiated even when sent as is (no acceptable coding): caches must key on the header. A body
    // below the threshold goes out as it is to every client and does not vary.
    if (flags.compression(account) && result.value.body.length >= compressAboveBytes) reply.header('vary', 'accept-encoding');
    if (!encoding) return reply.send(result.value.body);
    reply.header('content-encoding', encoding);
    return reply.send(compressed(result.value, encoding));
  };
}

/** The entry's key in its class: private classes are scoped to the account, so users never share entries. */
function entryKey(cache: TieredCache, spec: Pick<RouteCacheSpec, 'cls' | 'key' | 'account'>): string {
  if (cache.policy(spec.cls).visibility !== 'private') return spec.key;
  if (spec.account === undefined) throw new Error(`${spec.cls} is private: its cache key needs the account`);
  return `acct:${spec.account}:${spec.key}`;
}

/**
 * Write-through: stores the answer a route would serve for `spec` (its body serialized as the route does),
 * so the next read is a hit with the writer's value. Every tier, peers told to drop their L1 copy.
 */
export async function storeResponse(cache: TieredCache, spec: Pick<RouteCacheSpec, 'cls' | 'key' | 'account' | 'tags'>, body: string): Promise<void> {
  if (!cache.isEnabled) return;
  const response: CachedResponse = { body, etag: etagOf(body) };
  await cache.set(spec.cls, entryKey(cache, spec), response, spec.tags);
}

/** HTTP freshness of data that a new 1-minute bar changes (open ranges, forecasts): until that bar. */
export function secondsToNextMinute(now: number): number {
  return Math.ceil((60_000 - (now % 60_000)) / 1000);
}

/** Brotli if the client takes it, else gzip, else none (q=0 refuses; `*` takes any). */
function negotiate(header: string | undefined): Encoding | undefined {
  if (!header) return undefined;
  let gzip = false;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';');
    if (params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p))) continue;
    const coding = name.trim().toLowerCase();
    if (coding === 'br' || coding === '*') return 'br';
    if (coding === 'gzip') gzip = true;
  }
  return gzip ? 'gzip' : undefined;
}

function cacheControl(visibility: 'public' | 'private', revalidate: boolean, immutable: boolean, freshS: number): string {
  // Private classes are revalidated on every use (ETag makes that a 304).
  if (revalidate) return 'private, no-cache';
  if (immutable) return `${visibility}, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`;
  return `${visibility}, max-age=${freshS}`;
}

/** RFC 9211: `tachyon; hit; ttl=…; detail=l1`, `tachyon; fwd=miss; stored`, `tachyon; fwd=bypass`. */
function cacheStatus(result: Cached<unknown>, now: number): string {
  const ttl = Math.floor((result.expiresAt - now) / 1000);
  switch (result.status) {
    case 'hit':
      return `tachyon; hit; ttl=${ttl}; detail=${result.tier}`;
    case 'stale':
      return `tachyon; hit; ttl=${ttl}; detail=${result.tier}-stale`;
    case 'collapsed':
      return 'tachyon; fwd=miss; collapsed';
    case 'miss':
      return `tachyon; fwd=miss; stored; ttl=${ttl}`;
    case 'bypass':
      return 'tachyon; fwd=bypass';
  }
}
