/**
 * Resolves bearer tokens to principals. Answers are cached for a short TTL so a hot client costs
 * one Map lookup per request, not a database round trip. Known tokens and rejected ones live in
 * two separately bounded maps: a flood of bad tokens fills only its own map and can never evict a
 * good one. While the database is away a known token keeps authenticating for a stale-if-error
 * window; an unknown one answers 503 (the error propagates), never 401.
 */
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Clock } from '../kernel/clock.ts';
import { TooManyRequestsError, UnauthorizedError } from '../kernel/errors.ts';
import type { FailedAuthLimiter } from './failed-auth-limiter.ts';
import type { Principal } from './principal.ts';
import { hashToken } from './tokens.ts';
import type { UserStore } from './user-store.ts';

interface Known {
  principal: Principal;
  /** Fresh until then; past it the database is asked again. */
  expires: number;
  /** Served from memory until then if the database cannot answer. */
  staleUntil: number;
}

export interface AuthenticatorOptions {
  /** Freshness of a cached answer, positive or negative. */
  ttlMs?: number;
  /** Known tokens held at once. */
  maxEntries?: number;
  /** Rejected tokens held at once (their own bound: they cannot evict known ones). */
  maxRejected?: number;
  /** How long past its freshness a known token still authenticates while the database is away. */
  staleIfErrorMs?: number;
  /** Failed attempts per client address; without one, failures are not limited. */
  failedAuth?: FailedAuthLimiter;
}

/** Longer than any token this platform issues or accepts from configuration: refused without a lookup. */
const MAX_TOKEN_LENGTH = 256;
/** While the database is away, a stale known token is served this long before the next attempt. */
const STALE_RETRY_MS = 1000;

export class Authenticator {
  private readonly known = new Map<string, Known>();
  /** Token → when its rejection stops being trusted. */
  private readonly rejected = new Map<string, number>();
  /** One database lookup per token at a time, however many requests carry it. */
  private readonly inFlight = new Map<string, Promise<Principal | undefined>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxRejected: number;
  private readonly staleIfErrorMs: number;

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    private readonly options: AuthenticatorOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxRejected = options.maxRejected ?? 10_000;
    this.staleIfErrorMs = options.staleIfErrorMs ?? 600_000;
  }

  /**
   * Parses an Authorization header value and resolves it; throws 401 on anything but a live token.
   * With the client's `address`, failures count against it and an address over its limit gets 429.
   */
  async authenticate(header: string | undefined, address?: string): Promise<Principal> {
    const token = parseBearer(header);
    // A missing token costs nothing and guesses nothing: only a refused token counts as a failure.
    if (token === undefined) {
      this.throwIfBlocked(address);
      throw new UnauthorizedError();
    }
    const principal = await this.resolveFrom(token, address);
    if (principal) return principal;
    throw new UnauthorizedError('The API token is unknown or revoked.');
  }

  /**
   * A bare token (the WebSocket `auth` frame) from a client address: undefined when refused, and the
   * refusal counts against the address like a refused header; 429 while the address is over its limit.
   */
  async resolveFrom(token: string, address: string | undefined): Promise<Principal | undefined> {
    this.throwIfBlocked(address);
    const principal = await this.resolve(token);
    if (!principal && address !== undefined) this.options.failedAuth?.recordFailure(address);
    return principal;
  }

  private throwIfBlocked(address: string | undefined): void {
    const blockedMs = address === undefined ? undefined : this.options.failedAuth?.blockedFor(address);
    if (blockedMs === undefined) return;
    const seconds = Math.ceil(blockedMs / 1000);
    throw new TooManyRequestsError(`Too many failed authentication attempts from this address; retry in ${seconds} s.`, undefined, seconds);
  }

  /**
   * The principal of a header whose token is cached and live, without a promise (the hot path of
   * every authenticated request); undefined otherwise, and the caller falls back to `authenticate`.
   */
  cachedPrincipal(header: string | undefined): Principal | undefined {
    const token = parseBearer(header);
    if (token === undefined) return undefined;
    const known = this.known.get(token);
    return known && known.expires > this.clock.now() ? known.principal : undefined;
  }

  async resolve(token: string): Promise<Principal | undefined> {
    const now = this.clock.now();
    const known = this.known.get(token);
    if (known && known.expires > now) return known.principal;
    const rejectedUntil = this.rejected.get(token);
    if (rejectedUntil !== undefined && rejectedUntil > now) return undefined;
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    let lookup = this.inFlight.get(token);
    if (!lookup) {
      lookup = this.lookup(token).finally(() => this.inFlight.delete(token));
      this.inFlight.set(token, lookup);
    }
    return lookup;
  }

  private async lookup(token: string): Promise<Principal | undefined> {
    let principal: Principal | undefined;
    try {
      principal = await this.users.principalForHash(hashToken(token));
    } catch (error) {
      const stale = this.known.get(token);
      const now = this.clock.now();
      if (!stale || stale.staleUntil <= now || !isDatabaseUnavailable(error)) throw error;
      // Serve the known answer from memory, and ask the database again only after a pause.
      stale.expires = Math.min(now + STALE_RETRY_MS, stale.staleUntil);
      return stale.principal;
    }
    const now = this.clock.now();
    if (principal) {
      this.known.delete(token); // re-inserted last: the oldest entry is the first key
      this.rejected.delete(token);
      evictOldest(this.known, this.maxEntries);
      this.known.set(token, { principal, expires: now + this.ttlMs, staleUntil: now + this.ttlMs + this.staleIfErrorMs });
    } else {
      this.known.delete(token);
      this.rejected.delete(token);
      evictOldest(this.rejected, this.maxRejected);
      this.rejected.set(token, now + this.ttlMs);
    }
    return principal;
  }

  /** Sizes of the two caches (tests and diagnostics). */
  cacheSizes(): { known: number; rejected: number } {
    return { known: this.known.size, rejected: this.rejected.size };
  }

  /** Forgets one token's cached answer (it was just revoked here): no fresh or stale use of it remains. */
  forget(token: string): void {
    this.known.delete(token);
    this.rejected.delete(token);
  }

  /** Forgets cached answers (after a user gains an account or a key is revoked). */
  invalidate(): void {
    this.known.clear();
    this.rejected.clear();
  }
}

/** Makes room for one more entry: Maps iterate in insertion order, so the first key is the oldest. */
function evictOldest(map: Map<string, unknown>, max: number): void {
  while (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}

export function parseBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
