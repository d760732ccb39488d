/**
 * The cache's Redis link batches concurrent commands (ioredis auto-pipelining): the L2 reads and
 * writes of many concurrent requests leave in one socket write, one round trip, instead of one each.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
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
    const writes = vi.spyOn((link.redis as Redis).stream, 'write');
    await Promise.all(keys.map((k, i) => link.run((r) => r.set(k, Buffer.from([i]), 'PX', 60_000))));
    const values = await Promise.all(keys.map((k) => link.run((r) => r.getBuffer(k))));
    expect(values.map((v) => v?.[0])).toEqual(keys.map((_, i) => i));
    // Two batches (the sets, then the gets), not 100 writes.
    expect(writes.mock.calls.length).toBeLessThanOrEqual(4);
    writes.mockRestore();
  });

  it('a turn’s writes leave in one socket write, in order; a failed command fails only the writes it carried', async () => {
    const writes = vi.spyOn((link.redis as Redis).stream, 'write');
    const channel = `${prefix}:notices`;
    const first = keys.slice(0, 20).map((k, i) => link.setBufferInTurn(k, Buffer.from([i]), 60_000));
    const notice = link.publish(channel, Buffer.from('after the first run'));
    // A TTL of 0 is refused: the second run of SETs (one script call) stops there and fails as a whole.
    const second = [link.setBuffer(keys[20]!, Buffer.from([120]), 0), link.setBufferInTurn(keys[21]!, Buffer.from([121]), 60_000)];
    expect(new Set([...first, second[1]]).size).toBe(1);
    const [errors] = await Promise.all([first[0]!, notice]);
    await expect(second[0]).rejects.toThrow(/expire/);
    expect(errors).toHaveLength(1);
    expect(writes.mock.calls.length).toBe(1);
    writes.mockRestore();
    const values = await link.run((r) => r.mgetBuffer(keys.slice(0, 22)));
    // Keys 20 and 21 keep the values the first test wrote.
    expect(values.map((v) => v?.[0])).toEqual([...keys.slice(0, 20).map((_, i) => i), 20, 21]);
  });
});
