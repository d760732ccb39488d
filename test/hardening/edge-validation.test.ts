/**
 * Each input failure reported in issue #12, replayed: every one answers a 400 problem naming the
 * field (never a 500, never a page past its maximum), and trading keeps running.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { newTrader, setQuote, type Trader } from '../trading/helpers.ts';

const cursor = (text: string) => Buffer.from(text).toString('base64url');
const NOT_FINITE = ['Infinity', '-Infinity', '1e400', '-1e400'];
/** Dates outside PostgreSQL's or JavaScript's range, and outside the documented 1970..2099. */
const BAD_DATES = ['0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00.001Z', '2100-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '8640000000000001', '-1', '4102444800000'];

describe.each(await engines())('edge validation on $name', (engine) => {
  let t: TestPlatform;
  let trader: Trader;
  const inject = (options: InjectOptions) => t.platform.app.inject(options);

  /** A 400 problem that names `field`. */
  async function refused(options: InjectOptions, field: string): Promise<void> {
    const res = await inject(options);
    const what = `${options.method ?? 'GET'} ${options.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
    expect(res.statusCode, what).toBe(400);
    expect(res.headers['content-type'], what).toContain('application/problem+json');
    expect(res.json().detail, what).toContain(field);
    expect(t.platform.trading.engine.running).toBe(true);
  }

  beforeAll(async () => {
    t = await startTestPlatform(engine);
    trader = await newTrader(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('limit=Infinity no longer lists 2,000 instruments past the maximum of 1,000', async () => {
    for (const limit of NOT_FINITE) await refused({ url: `/api/instruments?limit=${limit}`, headers: t.trader }, 'querystring.limit');
    expect((await inject({ url: '/api/instruments?limit=1000', headers: t.trader })).json().items).toHaveLength(1000);
  });

  it('non-finite and out-of-range integers are 400 on every listing (they were 500)', async () => {
    const listings = ['/api/orders', '/api/portfolio/transactions', '/api/portfolio/history', '/api/strategies', '/api/market-data/bars/AAPL'];
    for (const url of listings) {
      for (const limit of [...NOT_FINITE, '99999999999999999999']) await refused({ url: `${url}?limit=${limit}`, headers: t.trader }, 'querystring.limit');
      if (url !== '/api/strategies' && url !== '/api/market-data/bars/AAPL') await refused({ url: `${url}?accountId=1e400`, headers: t.trader }, 'querystring.accountId');
    }
    for (const prefix of ['/api/performance', '/performance']) {
      await refused({ url: `${prefix}/tests/history?limit=Infinity`, headers: t.admin }, 'querystring.limit');
    }
  });

  it('ids in paths: non-finite, past int8 or past safe integers are 400', async () => {
    for (const id of [...NOT_FINITE, '9007199254740993', '99999999999999999999']) {
      await refused({ url: `/api/orders/${id}`, headers: t.trader }, 'params.id');
      await refused({ method: 'DELETE', url: `/api/orders/${id}`, headers: t.trader }, 'params.id');
      await refused({ url: `/api/strategies/${id}`, headers: t.trader }, 'params.id');
      await refused({ url: `/api/strategies/${id}/performance`, headers: t.trader }, 'params.id');
      await refused({ method: 'PUT', url: `/api/admin/accounts/${id}/risk`, headers: t.admin, payload: { allowShort: false, limits: {} } }, 'params.id');
    }
  });

  it('dates outside 1970..2099 are 400 on bars, portfolio history and backtests (they were 500)', async () => {
    for (const date of BAD_DATES) {
      const q = encodeURIComponent(date);
      await refused({ url: `/api/market-data/bars/AAPL?from=${q}`, headers: t.trader }, 'from');
      await refused({ url: `/api/market-data/bars/AAPL?to=${q}`, headers: t.trader }, 'to');
      const epoch = /^-?\d+$/.test(date);
      if (epoch) await refused({ url: `/api/portfolio/history?from=${q}`, headers: t.trader }, 'querystring.from');
      if (epoch) await refused({ url: `/api/portfolio/history?to=${q}`, headers: t.trader }, 'querystring.to');
      const backtest = { symbols: ['AAPL'], interval: '1d', strategy: { type: 'sma_crossover', params: {} } };
      const value = epoch ? Number(date) : date;
      await refused({ method: 'POST', url: '/api/backtests', headers: t.trader, payload: { ...backtest, from: value, to: '2026-01-01T00:00:00Z' } }, 'from');
      await refused({ method: 'POST', url: '/api/backtests', headers: t.trader, payload: { ...backtest, from: 0, to: value } }, 'to');
    }
  });

  it('forged pagination cursors are 400 (one with an out-of-range time was 500)', async () => {
    for (const forged of [cursor('9007199254740991:1'), cursor('8640000000000001:1'), cursor('-1:5'), cursor('1:2:3'), 'AAAA', '!!!']) {
      await refused({ url: `/api/orders?cursor=${encodeURIComponent(forged)}`, headers: t.trader }, 'cursor');
    }
    for (const forged of [cursor('1e400'), cursor('x'), 'AAAA']) await refused({ url: `/api/portfolio/transactions?cursor=${forged}`, headers: t.trader }, 'cursor');
    for (const forged of [cursor('aapl'), cursor('A\u0000B'), 'AAAA', '!!!']) await refused({ url: `/api/instruments?cursor=${encodeURIComponent(forged)}`, headers: t.trader }, 'cursor');
    await refused({ url: '/api/performance/tests/history?cursor=abc', headers: t.admin }, 'querystring.cursor');
  });

  it('NUL and malformed text never reach PostgreSQL: strategy names and parameters, load-test tags, client order ids', async () => {
    const strategy = (overrides: Record<string, unknown>) => ({
      name: 'ok',
      type: 'sma_crossover',
      config: { symbols: ['AAPL'], interval: '15m', lookbackDays: 2, params: { fastPeriod: 5, slowPeriod: 20 } },
      ...overrides,
    });
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: strategy({ name: 'a\u0000b' }) }, 'body.name');
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: strategy({ name: 'lone \ud800' }) }, 'body.name');
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: strategy({ name: 'x'.repeat(101) }) }, 'body.name');
    const withParams = (params: unknown) => strategy({ config: { ...strategy({}).config, params } });
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: withParams({ note: 'nul\u0000' }) }, 'body.config.params.note');
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: withParams({ ['k\u0000']: 1 }) }, 'body.config.params');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    await refused({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: withParams({ deep }) }, 'nested');
    const created = await inject({ method: 'POST', url: '/api/strategies', headers: t.trader, payload: strategy({}) });
    expect(created.statusCode, created.body).toBe(201);
    await refused({ method: 'PUT', url: `/api/strategies/${created.json().id}`, headers: t.trader, payload: strategy({ name: 'b\u0000' }) }, 'body.name');

    const runsBefore = (await inject({ url: '/api/performance/tests/history', headers: t.admin })).json().items.length;
    await refused({ method: 'POST', url: '/api/performance/tests', headers: t.admin, payload: { scenario: 'smoke', tags: { team: 'a\u0000b' } } }, 'body.tags.team');
    await refused({ method: 'POST', url: '/api/performance/tests', headers: t.admin, payload: { scenario: 'smoke', tags: { ['t\u0000']: 'x' } } }, 'body.tags');
    expect((await inject({ url: '/api/performance/tests/history', headers: t.admin })).json().items).toHaveLength(runsBefore);

    const order = { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 1, quantity: 1 };
    await refused({ method: 'POST', url: '/api/orders', headers: trader.headers, payload: { ...order, clientOrderId: 'a\u0000b' } }, 'body.clientOrderId');
  });

  it('a limit order for "Infinity" shares is a 400 for its sender alone; trading goes on for everyone', async () => {
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    const other = await newTrader(t);
    const failures = t.platform.trading.engine.journal.stats.failures;
    for (const quantity of [...NOT_FINITE, 'NaN', 1e19, '9007199254740993']) {
      const payload = `{"symbol":"AAPL","side":"buy","type":"limit","limitPrice":100,"quantity":${typeof quantity === 'number' ? quantity : JSON.stringify(quantity)}}`;
      await refused({ method: 'POST', url: '/api/orders', headers: { ...trader.headers, 'content-type': 'application/json' }, payload }, 'body.quantity');
    }
    // The same values as bare JSON number literals (1e400 parses to Infinity).
    await refused({ method: 'POST', url: '/api/orders', headers: { ...trader.headers, 'content-type': 'application/json' }, payload: '{"symbol":"AAPL","side":"buy","type":"limit","limitPrice":100,"quantity":1e400}' }, 'body.quantity');
    for (const limitPrice of ['Infinity', '1e400', 1e300, '99999999999999999999']) {
      await refused({ method: 'POST', url: '/api/orders', headers: trader.headers, payload: { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice, quantity: 1 } }, 'limitPrice');
    }
    const placed = await inject({ method: 'POST', url: '/api/orders', headers: other.headers, payload: { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99, quantity: 1 } });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(t.platform.trading.engine.journal.stats.failures).toBe(failures);
  });
});
