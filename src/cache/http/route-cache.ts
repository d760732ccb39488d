/**
 * Route-level caching: a GET handler hands over its cache key and loader; the response body is
 * serialized once from the route's schema and stored with its ETag, so a hit is a string send.
 * Sets Cache-Control per data class, `Cache-Status` (RFC 9211) and `Age` so clients and operators
 * see what the cache did. With the cache off, identical concurrent requests still share one load.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpFlags } from '../flags.ts';
import type { DataClass } from '../policies.ts';
import type { Cached, TieredCache } from '../tiered-cache.ts';
import { etagOf } from './http-optimizations.ts';

export interface CachedResponse {
  body: string;
  etag: string;
}

export interface RouteCacheSpec {
  cls: DataClass;
  /** Identifies the response within its class (path and normalized query). */
  key: string;
  /** Required for private classes: the key is scoped to it, so users never share entries. */
  account?: number;
  tags?: string[];
  /** The data can no longer change (a closed historical range): shared caches may keep it for long. */
  immutable?: boolean;
}

const IMMUTABLE_MAX_AGE_S = 31_536_000;

/** Sends the (cached) serialized body itself and resolves to the reply, as an async handler may return. */
export type RouteCache = (request: FastifyRequest, reply: FastifyReply, spec: RouteCacheSpec, load: () => Promise<unknown>) => Promise<FastifyReply>;

export function routeCache(cache: TieredCache, flags: HttpFlags): RouteCache {
  const inflight = new Map<string, Promise<Cached<CachedResponse>>>();

  return async function cached(request, reply, spec, load) {
    const policy = cache.policy(spec.cls);
    if (policy.visibility === 'private' && spec.account === undefined) throw new Error(`${spec.cls} is private: its cache key needs the account`);
    const key = policy.visibility === 'private' ? `acct:${spec.account}:${spec.key}` : spec.key;
    const loader = async (): Promise<CachedResponse> => {
      const body = reply.serialize(await load()) as string;
      return { body, etag: etagOf(body) };
    };

    let result: Cached<CachedResponse>;
    const shared = inflight.get(`${spec.cls}:${key}`);
    if (shared && flags.coalesce()) {
      result = { ...(await shared), status: 'collapsed' };
    } else {
      const pending = cache.get(spec.cls, key, loader, spec.tags);
      // Only bypassed loads need coalescing here; the cache already runs one loader per key.
      if (flags.coalesce() && !cache.isEnabled) {
        inflight.set(`${spec.cls}:${key}`, pending);
        void pending.finally(() => inflight.delete(`${spec.cls}:${key}`)).catch(() => {});
      }
      result = await pending;
    }

    reply.header('content-type', 'application/json; charset=utf-8');
    reply.header('etag', result.value.etag);
    if (flags.cacheHeaders()) {
      const now = Date.now();
      reply.header('cache-control', cacheControl(policy.visibility, spec.immutable === true, result.expiresAt - now));
      reply.header('cache-status', cacheStatus(result, now));
      if (result.status === 'hit' || result.status === 'stale') reply.header('age', Math.max(0, Math.floor((now - result.createdAt) / 1000)));
    }
    return reply.send(result.value.body);
  };
}

function cacheControl(visibility: 'public' | 'private', immutable: boolean, freshMs: number): string {
  // Private data is revalidated on every use (ETag makes that a 304), never kept by shared caches.
  if (visibility === 'private') return 'private, no-cache';
  if (immutable) return `public, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`;
  return `public, max-age=${Math.max(0, Math.floor(freshMs / 1000))}`;
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
