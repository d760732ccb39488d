/**
 * While history loads in the background, routes that need it answer 503 "history is loading, N%
 * done" with Retry-After for a symbol not loaded yet (not 422 "no history" or an empty chart), the
 * progress is on /api/health/detailed, and a second load is refused; afterwards they answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import type { Clock } from '../../src/kernel/clock.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

/**
 * The platform's clock reads 20:00 UTC of today (a steady offset from the real clock). History is generated
 * newest day first in 1,000-row slices, and the test markets trade 24 h a day: early in a UTC day the newest
 * (partial) day of all four instruments fits in the first slice, and the last symbol would already have bars.
 * At 20:00 a day holds 1,200 bars per instrument, so the first slice ends inside the first instrument.
 */
const offsetMs = (() => {
  const now = Date.now();
  const evening = new Date(now);
  evening.setUTCHours(20, 0, 0, 0);
  return evening.getTime() - now;
})();
const eveningClock: Clock = { now: () => Date.now() + offsetMs };

describe.each(await engines())('history loading on $name', (engine) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(engine, { market: { ...testConfig().market, instruments: 4 } }, { clock: eveningClock });
  });
  afterAll(() => t?.close());

  it('answers 503 with Retry-After while the symbol is not loaded, shows the progress, then serves the history', async () => {
    const { platform, trader, admin } = t;
    const api = (method: 'GET' | 'POST', url: string, payload?: object, headers = trader) => platform.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    // Batches come newest day first, instruments in order: the last one is loaded last.
    const symbol = platform.marketData.instruments.at(-1)!.symbol;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let slices = 0;
    const loaded = platform.marketData.history.load(2, undefined, async () => {
      if (++slices === 1) await held;
    });
    // The first slice waits for the generator thread to start (seconds from the sources on a busy machine).
    await expect.poll(() => slices, { timeout: 60_000 }).toBe(1);

    const now = eveningClock.now();
    const loading = [
      await api('GET', `/api/market-data/bars/${symbol}?interval=1m&limit=50`),
      await api('GET', `/api/predictions/${symbol}`),
      await api('POST', '/api/backtests', { symbols: [symbol], interval: '1m', from: now - 86_400_000, to: now, strategy: { type: 'sma_crossover', params: { fastPeriod: 5, slowPeriod: 20 } } }),
    ];
    for (const res of loading) {
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ code: 'history_loading', detail: expect.stringMatching(/^history is loading, \d+% done/) });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const health = (await api('GET', '/api/health/detailed', undefined, admin)).json();
    expect(health.history).toMatchObject({ state: 'loading', days: 2, totalRows: expect.any(Number) });
    expect(health.history.percent).toBeLessThan(100);
    expect((await api('POST', '/api/admin/history', { days: 1 }, admin)).statusCode).toBe(409);

    release();
    await loaded;
    const bars = await api('GET', `/api/market-data/bars/${symbol}?interval=1m&limit=50`);
    expect(bars.statusCode).toBe(200);
    expect(bars.json().bars).toHaveLength(50);
    expect((await api('GET', `/api/predictions/${symbol}`)).statusCode).toBe(200);
    expect((await api('GET', '/api/health/detailed', undefined, admin)).json().history).toMatchObject({ state: 'loaded', percent: 100 });

    // The paced roll-up (a few instruments per statement) equals the whole-day one.
    const daily = async () => (await platform.db.query('SELECT instrument_id, day::text, open::int8, high::int8, low::int8, close::int8, volume::int8 FROM bars_1d ORDER BY 1, 2')).rows;
    const paced = await daily();
    expect(new Set(paced.map((r) => (r as { instrument_id: number }).instrument_id)).size).toBe(platform.marketData.instruments.length);
    const days = [...new Set(paced.map((r) => Date.parse(`${(r as { day: string }).day}T00:00:00Z`)))];
    await platform.db.query('DELETE FROM bars_1d');
    await platform.marketData.barStore.rollUpDays(days);
    expect(await daily()).toEqual(paced);
  }, 120_000);

  it('without a load in progress a symbol without history is not "loading"', async () => {
    const res = await t.platform.app.inject({ method: 'GET', url: `/api/market-data/bars/${t.platform.marketData.instruments[0]!.symbol}?interval=1m&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`, headers: t.trader });
    expect(res.statusCode).toBe(200);
    expect(res.json().bars).toEqual([]);
  });
});
