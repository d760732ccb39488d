/**
 * Security headers on every response, in two sets decided by what the response is:
 *
 * - Documents (HTML, and SVG, which a browser runs scripts in) get helmet's full set, with a
 *   Content-Security-Policy that admits what the pages this server ships need and nothing else: the
 *   API docs (swagger-ui: its own scripts and styles, inline style attributes, data: images) and a
 *   same-origin dashboard at /dashboard (its own scripts and styles, a WebSocket to this origin,
 *   which `connect-src 'self'` covers in CSP 3). No inline scripts anywhere, no third-party
 *   origins, no framing. `upgrade-insecure-requests` is left out: the API is often served over
 *   plain HTTP behind a load balancer, where upgrading the docs' assets to https would break them.
 * - Everything else (JSON, problem+json, Prometheus text, scripts and styles) gets the protections
 *   that apply to a response a browser does not render as a page (`API_HEADERS`): no MIME sniffing
 *   (a JSON body must never run as a script or a page), a CSP that allows nothing and no framing
 *   in case it is opened as a document anyway, no Referer leak, no cross-origin no-cors reads, and
 *   HSTS when the request came over https (browsers ignore it over plain HTTP). The document-only
 *   headers (COOP, Origin-Agent-Cluster, X-Frame-Options, X-DNS-Prefetch-Control, …) do nothing for
 *   such a response; on a cached quote they were 12 headers, ~600 bytes around a 130-byte body.
 *   The flag `http.compact-headers` (on by default) switches back to the full set everywhere for
 *   comparison (bench:http measures both; docs/architecture.md gives the reasoning).
 *
 * The set is chosen in `onSend`, where the content type is known; the router's own errors (no route,
 * so no hooks) call `apply` themselves.
 *
 * Why not `app.register(@fastify/helmet)`: that plugin calls `helmet(options)` for every request,
 * which re-validates the whole policy and rebuilds every middleware — 41 µs a request measured,
 * more than a cached quote costs in total — and adds an async hook. The same helmet, with the same
 * options, is built once here and applied synchronously.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type helmetType from 'helmet';

// helmet is @fastify/helmet's own dependency: resolved from there, so the version is the one it pins.
const fromHere = createRequire(import.meta.url);
const helmet = createRequire(fromHere.resolve('@fastify/helmet'))('helmet') as typeof helmetType;

const applyHelmet = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
    },
  },
  // The docs and dashboard load nothing cross-origin; API clients are not browsers embedding our pages.
  crossOriginEmbedderPolicy: false,
});

/** The set for responses that are not documents; HSTS is added over https. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};
const API_HEADER_ENTRIES = Object.entries(API_HEADERS);
const HSTS = 'max-age=31536000; includeSubDomains'; // helmet's default, as on documents

/** Content types a browser renders as a page and runs scripts in. */
const DOCUMENT_TYPE = /^\s*(?:text\/html|application\/xhtml\+xml|image\/svg\+xml)/i;

function rethrow(error?: unknown): void {
  if (error) throw error;
}

export class SecurityHeaders {
  /** @param compact the `http.compact-headers` flag: off sends the full set on every response. */
  constructor(private readonly compact: () => boolean) {}

  install(app: FastifyInstance): void {
    // Callback style and synchronous: no promise or microtask per request.
    app.addHook('onSend', (request, reply, payload, done) => {
      this.apply(request, reply);
      done(null, payload);
    });
  }

  /** Sets the set this response needs, by its content type (none yet: not a document). */
  apply(request: FastifyRequest, reply: FastifyReply): void {
    const type = reply.getHeader('content-type');
    if (this.compact() && !(typeof type === 'string' && DOCUMENT_TYPE.test(type))) {
      // Fastify's own header map: node then writes it in one pass, without a per-header setHeader.
      for (const [name, value] of API_HEADER_ENTRIES) reply.header(name, value);
      if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    } else {
      applyHelmet(request.raw, reply.raw, rethrow);
    }
  }
}
