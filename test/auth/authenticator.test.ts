/**
 * The authenticator's caches against a real user store: rejected tokens are cached in their own
 * bounded map (a flood of random tokens cannot evict known ones, and a repeated bad token costs
 * one lookup), and while the database is away a known token keeps authenticating from memory
 * within the stale-if-error window, an unknown one is an error (503 upstream), never a 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.ts';
import { FailedAuthLimiter } from '../../src/auth/failed-auth-limiter.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { UserStore } from '../../src/auth/user-store.ts';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { TooManyRequestsError, UnauthorizedError } from '../../src/kernel/errors.ts';
import { pglite } from '../support/engines.ts';

/** The real store, counting lookups, with a switch that makes the database unreachable. */
class CountingUserStore extends UserStore {
  lookups = 0;
  down = false;
  override async principalForHash(hash: string): Promise<Principal | undefined> {
    this.lookups++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:41101'), { code: 'ECONNREFUSED' });
    return super.principalForHash(hash);
  }
}

let db: Database;
let users: CountingUserStore;
let good: string[];

beforeAll(async () => {
  ({ db } = await pglite.open());
  await migrate(db);
  users = new CountingUserStore(db);
  good = await Promise.all(['a', 'b', 'c'].map(async (name) => (await users.create({ name, role: 'trader', openingCash: 1 })).token));
});
afterAll(() => db?.close());

describe('Authenticator', () => {
  it('caches bad tokens in a separate bounded map that cannot evict known ones', async () => {
    const clock = new ManualClock(0);
    const auth = new Authenticator(users, clock, { maxEntries: 3, maxRejected: 5 });
    for (const token of good) expect(await auth.resolve(token)).toBeDefined();
    const afterGood = users.lookups;

    // A repeated bad token is looked up once, however many requests carry it at once.
    await Promise.all(Array.from({ length: 20 }, () => auth.resolve('tyn_bad-token')));
    await auth.resolve('tyn_bad-token');
    expect(users.lookups).toBe(afterGood + 1);

    // A flood of distinct random tokens fills only the rejected map, up to its bound.
    for (let i = 0; i < 200; i++) await auth.resolve(`tyn_random-${i}`);
    expect(auth.cacheSizes()).toEqual({ known: 3, rejected: 5 });
    const afterFlood = users.lookups;
    for (const token of good) expect(auth.cachedPrincipal(`Bearer ${token}`)).toBeDefined();
    for (const token of good) await auth.resolve(token);
    expect(users.lookups).toBe(afterFlood); // all still answered from memory

    // Absurdly long tokens never reach the database.
    await auth.resolve('x'.repeat(10_000));
    expect(users.lookups).toBe(afterFlood);
  });

  it('serves known tokens while the database is away (stale-if-error), then stops at the end of the window', async () => {
    const clock = new ManualClock(0);
    const auth = new Authenticator(users, clock, { ttlMs: 1000, staleIfErrorMs: 60_000 });
    const known = await auth.resolve(good[0]!);
    users.down = true;
    try {
      clock.advance(5000); // past freshness: the database is asked, fails, the known answer is served
      expect(await auth.authenticate(`Bearer ${good[0]}`)).toEqual(known);
      const attempts = users.lookups;
      expect(auth.cachedPrincipal(`Bearer ${good[0]}`)).toEqual(known); // and from the hot path for a while, without retrying
      expect(users.lookups).toBe(attempts);
      // An unknown token cannot be decided: the database error propagates (503), it is not a 401.
      await expect(auth.authenticate(`Bearer ${good[1]}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      clock.advance(60_000); // past the stale window
      await expect(auth.authenticate(`Bearer ${good[0]}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      users.down = false;
    }
    expect(await auth.authenticate(`Bearer ${good[0]}`)).toEqual(known);
  });

  it('limits failed attempts per address with a bounded table; missing tokens do not count', async () => {
    const clock = new ManualClock(0);
    const limiter = new FailedAuthLimiter({ maxFailures: 2, windowMs: 10_000, maxAddresses: 2 }, clock);
    const auth = new Authenticator(users, clock, { failedAuth: limiter });
    for (let i = 0; i < 5; i++) await expect(auth.authenticate(undefined, '10.0.0.1')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth.authenticate('Bearer tyn_guess-1', '10.0.0.1')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth.authenticate('Bearer tyn_guess-2', '10.0.0.1')).rejects.toBeInstanceOf(UnauthorizedError);
    const lookups = users.lookups;
    const limited = await auth.authenticate('Bearer tyn_guess-3', '10.0.0.1').catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(TooManyRequestsError);
    expect((limited as TooManyRequestsError).retryAfterSeconds).toBe(10);
    expect(users.lookups).toBe(lookups); // refused without a lookup
    clock.advance(10_000);
    expect(await auth.authenticate(`Bearer ${good[2]}`, '10.0.0.1')).toBeDefined();
    // Many addresses: the table stays at its bound.
    for (let i = 0; i < 50; i++) await auth.authenticate(`Bearer tyn_spray-${i}`, `10.1.0.${i}`).catch(() => {});
    expect(limiter.size).toBe(2);
  });
});
