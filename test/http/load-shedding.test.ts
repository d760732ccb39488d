/**
 * Load shedding: once the event loop has lagged past the threshold, new requests answer 503
 * problem+json with Retry-After at once, while health probes still answer; when the lag is gone,
 * requests are served again. The stall is made with a synchronous busy loop and observed through
 * the shedder's own event-loop-delay monitor (no wall-clock assertions).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform(pglite, { http: { ...testConfig().http, shedEventLoopDelayMs: 100 } });
}, 60_000);
afterAll(() => t?.close());

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

it('sheds with 503 + Retry-After under event-loop pressure, never health, and recovers', async () => {
  const app = t.platform.app;
  await t.platform.listen(); // shedding arms itself two samples after listening
  await until(() => app.loadShedding.pressure() === undefined);
  expect((await app.inject({ url: '/api/instruments', headers: t.trader })).statusCode).toBe(200);

  // Stall the loop well past the threshold, then let the monitor's next sample see it. Until
  // shedding is armed (start-up grace) the stalled instance still serves: stall again. Each step
  // waits on timers, so the monitor's sampling timer (and the arming one) get their turn.
  let shed = await app.inject({ url: '/api/health' });
  for (let attempt = 0; attempt < 5 && shed.statusCode !== 503; attempt++) {
    // Start right after a sample, so the stall dominates the next one (not diluted by idle ticks).
    const previous = app.loadShedding.samples();
    await until(() => app.loadShedding.samples() !== previous);
    const stallUntil = performance.now() + 1500;
    while (performance.now() < stallUntil);
    await tick();
    await until(() => app.loadShedding.pressure() === 'eventLoopDelay');
    shed = await app.inject({ url: '/api/instruments', headers: t.trader });
  }
  expect(shed.statusCode).toBe(503);
  expect(shed.headers['content-type']).toContain('application/problem+json');
  expect(Number(shed.headers['retry-after'])).toBeGreaterThan(0);
  expect(shed.json()).toMatchObject({ status: 503, code: 'unavailable', pressure: 'eventLoopDelay' });
  expect((await app.inject({ url: '/api/health' })).statusCode).toBe(200);

  await until(() => app.loadShedding.pressure() === undefined);
  expect((await app.inject({ url: '/api/instruments', headers: t.trader })).statusCode).toBe(200);
}, 30_000);
