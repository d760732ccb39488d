/**
 * Response-level optimizations for every route: negotiated compression (@fastify/compress:
 * brotli or gzip above a size threshold, fast settings) and ETag / If-None-Match → 304.
 * Installed on the root instance before routes are added (compress hooks each route as it is
 * added). Both obey their flags per request, so they switch off at runtime.
 *
 * The ETag hook is ours rather than @fastify/etag because that plugin cannot be switched off at
 * runtime; like it, it reuses an ETag the route already set (cached responses carry theirs, so a
 * hit is never hashed again).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:zlib';
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpFlags } from '../../cache/flags.ts';

// Speed over ratio: these bodies are built per request, not stored (cached ones reuse the settings).
export const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } };
export const GZIP_OPTIONS = { level: 4 };
/**
 * Bodies below this get no hashed ETag: a 304 saves little more than the body, while the SHA-1 cost
 * 3.4% of the CPU of a small uncached read (quotes, which change every tick anyway).
 */
export const HASHED_ETAG_MIN_BYTES = 1024;

export interface HttpOptimizationOptions {
  flags: HttpFlags;
  compressAboveBytes: number;
}

export async function installHttpOptimizations(app: FastifyInstance, options: HttpOptimizationOptions): Promise<void> {
  const { flags } = options;
  // Hooks in callback style: an async hook costs every request a promise and a microtask.
  app.addHook('onRequest', (request, _reply, done) => {
    // @fastify/compress's documented per-request opt-out.
    if (!flags.compression(request.principal?.accountIds[0])) request.headers['x-no-compression'] = '1';
    done();
  });
  await app.register(compress, {
    global: true,
    threshold: options.compressAboveBytes,
    encodings: ['br', 'gzip'],
    brotliOptions: BROTLI_OPTIONS,
    zlibOptions: GZIP_OPTIONS,
  });
  // Added after compress, so it runs first on send: it hashes the uncompressed body.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (needsToken(request)) keepPrivate(reply);
    if (request.method !== 'GET') return done(null, payload);
    const account = request.principal?.accountIds[0];
    if (flags.compression(account) && mayCompress(payload, options.compressAboveBytes)) varyOnEncoding(reply);
    if (reply.statusCode !== 200 || !flags.etag(account)) return done(null, payload);
    let etag = reply.getHeader('etag') as string | undefined;
    if (!etag) {
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
      if (payload.length < HASHED_ETAG_MIN_BYTES) return done(null, payload);
      // Weak: @fastify/compress may still encode this body, and a weak tag may cover every encoding.
      etag = `W/${etagOf(payload)}`;
      reply.header('etag', etag);
    }
    if (weakMatch(request.headers['if-none-match'], etag)) {
      reply.code(304);
      return done(null, '');
    }
    done(null, payload);
  });
}

/**
 * Routes are `user` unless they say otherwise (src/http/access.ts; unknown routes are public 404s);
 * a public route that was sent a credential (/metrics checks its own) is answered for that caller.
 */
function needsToken(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || (!request.is404 && (request.routeOptions.config.access ?? 'user') !== 'public');
}

/**
 * An answer that needed a token is never for a shared cache (RFC 9111 §3.5: `public` would let one
 * store it): a route's `public` becomes `private`, and a route that said nothing is revalidated.
 */
function keepPrivate(reply: FastifyReply): void {
  const current = reply.getHeader('cache-control');
  if (current === undefined) reply.header('cache-control', 'private, no-cache');
  else if (typeof current === 'string' && /\bpublic\b/.test(current)) reply.header('cache-control', current.replace(/\bpublic\b/, 'private'));
}

/**
 * Whether @fastify/compress could encode this body: a stream, or at least the threshold. A body below
 * it goes out as it is to every client, so it does not vary on Accept-Encoding (a cache may give it
 * to anyone); a body that may be encoded varies, sent compressed or not.
 */
function mayCompress(payload: unknown, thresholdBytes: number): boolean {
  if (payload === null || payload === undefined) return false;
  if (typeof payload === 'string') return payload.length >= thresholdBytes || Buffer.byteLength(payload) >= thresholdBytes;
  if (Buffer.isBuffer(payload)) return payload.length >= thresholdBytes;
  return true;
}

/** Adds Accept-Encoding to Vary (compress adds it too when it encodes; a 304 must carry it as well). */
function varyOnEncoding(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  if (current === undefined) return void reply.header('vary', 'accept-encoding');
  const text = Array.isArray(current) ? current.join(', ') : String(current);
  if (!/accept-encoding|\*/i.test(text)) reply.header('vary', `${text}, accept-encoding`);
}

export function etagOf(body: string | Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** Whether If-None-Match names `etag` (the fast lane's 304 too). */
export function weakMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === '*') return true;
  // Weak comparison (RFC 9110 §13.1.2), as If-None-Match requires: W/"x" matches "x".
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}
