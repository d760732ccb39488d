/**
 * The cache's Redis link batches concurrent commands (ioredis auto-pipelining): the L2 reads and
 * writes of many concurrent requests leave in one socket write, one round trip, instead of one each.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisLink } from '../../src/cache/redis-link.ts';
import { REDIS_TEST_URL, redisAvailable, redisPrefix } from '../support/servers.ts';

describe.runIf(await redisAvailable())('Redis link', () => {
  const link = new RedisLink({ url: REDIS_TEST_URL, timeoutMs: 1_000, breakMs: 300 });
  const prefix = redisPrefix('link');
  const keys = Array.from({ length: 50 }, (_, i) => `${prefix}:k${i}`);

  beforeAll(async () => {
    expect(await link.connect()).toBe(true);
  });
  afterAll(async () => {
    await link.run((r) => r.unlink(...keys));
    link.close();
  });

  it('sends concurrent commands in one write, and each caller gets its own answer', async () => {
    const writes = vi.spyOn(link.redis.stream, 'write');
    await Promise.all(keys.map((k, i) => link.run((r) => r.set(k, Buffer.from([i]), 'PX', 60_000))));
    const values = await Promise.all(keys.map((k) => link.run((r) => r.getBuffer(k))));
    expect(values.map((v) => v?.[0])).toEqual(keys.map((_, i) => i));
    // Two batches (the sets, then the gets), not 100 writes.
    expect(writes.mock.calls.length).toBeLessThanOrEqual(4);
    writes.mockRestore();
  });
});
