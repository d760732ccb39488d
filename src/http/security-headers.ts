/**
 * Security headers on every response (@fastify/helmet). The Content-Security-Policy admits what
 * the pages this server ships need and nothing else: the API docs (swagger-ui: its own scripts and
 * styles, inline style attributes, data: images) and a same-origin dashboard at /dashboard (its
 * own scripts and styles, a WebSocket to this origin, which `connect-src 'self'` covers in CSP 3).
 * No inline scripts anywhere, no third-party origins, no framing.
 * `upgrade-insecure-requests` is left out: the API is often served over plain HTTP behind a
 * load balancer, where upgrading the docs' assets to https would break them.
 */
import type { FastifyInstance } from 'fastify';
import fastifyHelmet from '@fastify/helmet';

const HELMET_OPTIONS = {
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
  // The docs and dashboard are same-origin; cross-origin API clients are not browsers loading our pages.
  crossOriginEmbedderPolicy: false,
} as const;

export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, HELMET_OPTIONS);
}

