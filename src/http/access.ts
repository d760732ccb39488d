/**
 * Access control per route: every route is `user` (a valid token) unless it says otherwise in
 * `config.access` (`public` for health and docs, `admin` for operations). Unknown routes stay
 * public so they answer 404 rather than 401.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Principal } from '../auth/principal.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../kernel/errors.ts';

export type Access = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** Header of a request the platform injects into itself on a user's behalf (cache warming): a one-time ticket. */
export const INTERNAL_TICKET_HEADER = 'x-tachyon-internal-ticket';

/**
 * One-time tickets for requests the process injects into itself (app.inject) acting as a given principal: random,
 * held only in memory, spent by the first request that shows one, so nothing outside the process can use one.
 */
export class InternalTickets {
  private readonly pending = new Map<string, Principal>();

  issue(principal: Principal): string {
    const ticket = randomBytes(24).toString('base64url');
    this.pending.set(ticket, principal);
    return ticket;
  }

  take(header: string | string[] | undefined): Principal | undefined {
    if (typeof header !== 'string') return undefined;
    const principal = this.pending.get(header);
    this.pending.delete(header);
    return principal;
  }
}

export function installAccessControl(app: FastifyInstance, authenticator: Authenticator, tickets?: InternalTickets): void {
  app.decorateRequest('principal', undefined);
  // Callback style, and synchronous for a cached token: no promise or microtask on the hot path.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.is404) return done();
    const access = request.routeOptions.config.access ?? 'user';
    if (access === 'public') return done();
    const internal = tickets && request.headers[INTERNAL_TICKET_HEADER] !== undefined ? tickets.take(request.headers[INTERNAL_TICKET_HEADER]) : undefined;
    if (internal) return done(admit(request, access, internal));
    const cached = authenticator.cachedPrincipal(request.headers.authorization);
    if (cached) return done(admit(request, access, cached));
    authenticator.authenticate(request.headers.authorization, request.ip).then((principal) => done(admit(request, access, principal)), done);
  });
}

function admit(request: FastifyRequest, access: Access, principal: Principal): ForbiddenError | undefined {
  if (access === 'admin' && principal.role !== 'admin') return new ForbiddenError();
  request.principal = principal;
  return undefined;
}

/** The authenticated caller; routes behind `user` or `admin` access always have one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

/**
 * The account a request acts on: the given one if the caller owns it, else the caller's first.
 * Another user's account answers 404, never 403, so ids cannot be probed.
 */
export function accountOf(request: FastifyRequest, requested?: number): number {
  const principal = principalOf(request);
  if (requested !== undefined) {
    if (!principal.accountIds.includes(requested)) throw new NotFoundError(`account ${requested} not found`);
    return requested;
  }
  const first = principal.accountIds[0];
  if (first === undefined) throw new NotFoundError('this user has no trading account');
  return first;
}
