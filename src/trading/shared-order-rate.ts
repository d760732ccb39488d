/**
 * The per-account order rate shared by every instance (issue 13, item 7): with REDIS_URL the token
 * bucket of an account lives in Redis, so its limit holds across instances, including when the
 * account moves to another owner mid-second (a fresh local bucket would grant a second burst). The
 * same bucket as the in-memory one (`TokenBucket`: refilled continuously, at most one second's
 * allowance), taken atomically by one Lua script per order, timed by the engine's clock (a clock
 * stepping back refills nothing). While Redis cannot answer within the limiter connection's command
 * timeout (100 ms) the engine falls back to the account's own bucket: a limiter must not stop trading.
 */
import type { RedisClient } from '../kernel/redis-client.ts';

export interface SharedOrderRate {
  /** Takes one token from the account's bucket: true when granted, false when over the rate, undefined when the store cannot answer. */
  take(accountId: number, perSecond: number, now: number): Promise<boolean | undefined>;
}

// KEYS[1] the bucket; ARGV: per second, now (ms), expiry (ms). A bucket idle for a second is full, so it may expire.
const TAKE = `
local rate = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or rate
local at = tonumber(state[2]) or now
local elapsed = now - at
if elapsed > 0 then at = now else elapsed = 0 end
tokens = math.min(rate, tokens + elapsed * rate / 1000)
local granted = 0
if tokens >= 1 then
  tokens = tokens - 1
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return granted`;

type WithTake = RedisClient & { tachyonOrderRate(key: string, perSecond: number, now: number, expireMs: number): Promise<number> };

export class RedisOrderRate implements SharedOrderRate {
  private readonly redis: WithTake;

  /** `redis`: a connection that fails fast (the HTTP limiter's); `prefix`: the deployment's key prefix. */
  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    // defineCommand sends the script once and EVALSHA afterwards.
    if (!('tachyonOrderRate' in redis)) redis.defineCommand('tachyonOrderRate', { numberOfKeys: 1, lua: TAKE });
    this.redis = redis as WithTake;
  }

  async take(accountId: number, perSecond: number, now: number): Promise<boolean | undefined> {
    try {
      return (await this.redis.tachyonOrderRate(`${this.prefix}:order-rate:${accountId}`, perSecond, now, 2_000)) === 1;
    } catch {
      return undefined;
    }
  }
}
