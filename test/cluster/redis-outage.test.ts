/**
 * Degraded, not dead: an instance started while Redis is down serves (in-process bus, no L2) and
 * joins the others once Redis is back; Redis killed and restarted under load fails no request and
 * the instances' events flow again afterwards. Redis here is our own redis-server on a port of this
 * suite's range, never the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { OwnRedis, redisServerInstalled } from '../cache/redis-server.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { redisPrefix } from '../support/servers.ts';
import { sleep } from './support.ts';
import { publishPartial } from '../support/bus-events.ts';

const REDIS_PORT = 28950;
const hasRedisServer = redisServerInstalled();

describe.skipIf(!hasRedisServer)('Redis outages', () => {
  let redis: OwnRedis | undefined;
  let a: TestPlatform;
  let b: TestPlatform | undefined;
  let baseA: string;
  const prefix = redisPrefix('outage');
  const overrides = {
    redisUrl: `redis://127.0.0.1:${REDIS_PORT}`,
    realtime: { ...testConfig().realtime, busChannel: `${prefix}bus` },
    cache: { ...testConfig().cache, prefix: `${prefix}cache` },
    analysis: { ...testConfig().analysis, queuePrefix: `${prefix}tasks` },
  };

  beforeAll(async () => {
    // Redis is down: the instance must start anyway.
    a = await startTestPlatform(pglite, overrides);
    baseA = await a.platform.listen();
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.kill();
  });

  async function redisDependency(): Promise<{ ok: boolean }> {
    const detailed = (await (await fetch(`${baseA}/api/health/detailed`, { headers: a.admin })).json()) as { dependencies: Array<{ name: string; ok: boolean }> };
    return detailed.dependencies.find((d) => d.name === 'redis')!;
  }

  async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await condition()) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** Whether a quote published on B reaches A's bus (through Redis). */
  async function bridged(): Promise<boolean> {
    let seen = 0;
    const off = a.platform.bus.subscribe('quote.BRIDGE', () => void seen++);
    try {
      for (let i = 0; i < 20 && seen === 0; i++) {
        publishPartial(b!.platform.bus, 'quote.BRIDGE', { symbol: 'BRIDGE', last: i });
        await sleep(100);
      }
      return seen > 0;
    } finally {
      off();
    }
  }

  it('starts without Redis, serves, reports Redis down, and joins the other instances when Redis comes back', async () => {
    expect((await fetch(`${baseA}/api/health/ready`)).status).toBe(200);
    expect((await fetch(`${baseA}/api/orders`, { headers: a.trader })).status).toBe(200);
    expect((await redisDependency()).ok).toBe(false);

    redis = await OwnRedis.start(REDIS_PORT);
    await until(async () => (await redisDependency()).ok, 'the bus bridge to reconnect');
    b = await startTestPlatform(pglite, overrides);
    await b.platform.listen();
    await until(bridged, 'events from B to reach A');
  }, 120_000);

  it('fails no request while Redis is killed and restarted under load, then bridges again', async () => {
    let running = true;
    const failures: string[] = [];
    let total = 0;
    const symbol = a.platform.marketData.instruments[0]!.symbol;
    const headers = { ...a.trader, 'content-type': 'application/json' };
    const loop = async () => {
      while (running) {
        for (const [path, init] of [
          [`/api/market-data/quotes/${symbol}`, {}],
          ['/api/orders', { method: 'POST', body: JSON.stringify({ symbol, side: 'buy', type: 'market', quantity: 1 }) }],
          ['/api/portfolio', {}],
        ] as const) {
          total++;
          const response = await fetch(`${baseA}${path}`, { ...init, headers }).catch((error: Error) => error);
          if (response instanceof Error || response.status >= 500) failures.push(`${path}: ${response instanceof Error ? response.message : response.status}`);
          else await response.arrayBuffer();
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await sleep(500);
    await redis!.kill();
    await until(async () => !(await redisDependency()).ok, 'Redis to be reported down');
    await sleep(1_000);
    await redis!.restart();
    await until(async () => (await redisDependency()).ok, 'the bus bridge to reconnect');
    running = false;
    await Promise.all(loops);
    expect(total).toBeGreaterThan(30);
    expect(failures).toEqual([]);
    await until(bridged, 'events from B to reach A again');
  }, 120_000);
});
