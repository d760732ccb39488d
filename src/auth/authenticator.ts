/**
 * Resolves bearer tokens to principals. Positive and negative answers are cached for a short TTL
 * so a hot client costs one hash and one Map lookup per request, not a database round trip; the
 * negative cache stops a flood of bad tokens from reaching the database.
 */
import type { Clock } from '../kernel/clock.ts';
import { UnauthorizedError } from '../kernel/errors.ts';
import type { Principal } from './principal.ts';
import { hashToken } from './tokens.ts';
import type { UserStore } from './user-store.ts';

interface Entry {
  principal: Principal | undefined;
  expires: number;
}

export interface AuthenticatorOptions {
  ttlMs?: number;
  maxEntries?: number;
}

export class Authenticator {
  private readonly cache = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    options: AuthenticatorOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Parses an Authorization header value and resolves it; throws 401 on anything but a live token. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const token = parseBearer(header);
    if (!token) throw new UnauthorizedError();
    const principal = await this.resolve(token);
    if (!principal) throw new UnauthorizedError('The API token is unknown or revoked.');
    return principal;
  }

  /**
   * The principal of a header whose token is cached and live, without a promise (the hot path of
   * every authenticated request); undefined otherwise, and the caller falls back to `authenticate`.
   */
  cachedPrincipal(header: string | undefined): Principal | undefined {
    const token = parseBearer(header);
    return token === undefined ? undefined : this.live(token, this.clock.now())?.principal;
  }

  async resolve(token: string): Promise<Principal | undefined> {
    const now = this.clock.now();
    const cached = this.live(token, now);
    if (cached) return cached.principal;
    const principal = await this.users.principalForHash(hashToken(token));
    if (this.cache.size >= this.maxEntries) {
      // Maps iterate in insertion order: dropping the first key evicts the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, { principal, expires: now + this.ttlMs });
    return principal;
  }

  /** The cached answer for a token, if it has not expired (positive or negative). */
  private live(token: string, now: number): Entry | undefined {
    const cached = this.cache.get(token);
    return cached && cached.expires > now ? cached : undefined;
  }

  /** Forgets cached principals (after a user gains an account or a key is revoked). */
  invalidate(): void {
    this.cache.clear();
  }
}

export function parseBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
