/**
 * The trading core against a paper broker that reports fills on a later event-loop turn
 * (TACHYON_PAPER_FILLS=deferred), as a remote broker would: the engine takes them through its
 * report queue, unchanged. A 201 shows the order accepted; its fills follow once the broker has
 * matched (`settle`). Fills, partial fills, ioc/fok, cancel, affordability and reconciliation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import type { OrderEvent } from '../../src/trading/dto.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, newTrader, place, setQuote, type Trader } from './helpers.ts';

describe.each(await engines())('deferred paper fills on $name', (engine) => {
  let t: TestPlatform;
  let trader: Trader;

  beforeAll(async () => {
    t = await startTestPlatform(engine, { trading: { ...testConfig().trading, paperFills: 'deferred' } });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    trader = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
  });

  /** Waits until the broker has matched every submitted order and the engine's rows have committed. */
  const settle = async () => {
    await t.platform.trading.broker.settled();
    await t.platform.trading.engine.journal.durable();
  };
  const portfolio = async (who = trader) => (await call(t, who, { url: '/api/portfolio' })).json();
  const order = async (id: number) => (await call(t, trader, { url: `/api/orders/${id}` })).json();

  it('answers a market order accepted, then fills it on a later turn and books it exactly', async () => {
    const seen: string[] = [];
    const offs = (['order', 'fill', 'portfolio'] as const).map((kind) =>
      t.platform.bus.subscribe(`${kind}.${trader.accountId}`, (e) => seen.push(kind === 'order' ? `order:${(e as OrderEvent).type}` : kind)),
    );
    const res = await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 });
    expect(res.statusCode).toBe(201);
    // Matched after the command's step: the answer cannot include the fill.
    expect(res.json()).toMatchObject({ status: 'accepted', filledQuantity: 0 });
    await settle();
    for (const off of offs) off();
    expect(await order(res.json().id)).toMatchObject({ status: 'filled', filledQuantity: 10, averageFillPrice: 100.01 });
    expect(seen).toEqual(['order:accepted', 'order:filled', 'fill', 'portfolio']);
    const p = await portfolio();
    expect(p.cash).toBe(100_000 - 1000.1);
    expect(p.reservedCash).toBe(0);
    expect(p.positions).toEqual([expect.objectContaining({ symbol: 'AAPL', quantity: 10, averagePrice: 100.01 })]);
  });

  it('fills partially while the touch is short, the rest on a later quote', async () => {
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100, askSize: 20 });
    const id = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 100.01, quantity: 50, timeInForce: 'gtc' })).json().id;
    await settle();
    expect(await order(id)).toMatchObject({ status: 'partially_filled', filledQuantity: 20 });
    setQuote(t.platform, 'AAPL', { bid: 99.9, ask: 100, askSize: 100 });
    await settle();
    expect(await order(id)).toMatchObject({ status: 'filled', filledQuantity: 50 });
    const p = await portfolio();
    expect(p.cash).toBe(100_000 - 20 * 100.01 - 30 * 100);
    expect(p.reservedCash).toBe(0);
  });

  it('ioc fills what it can and cancels the rest; fok fills completely or not at all', async () => {
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100, askSize: 30 });
    const ioc = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 100.01, quantity: 50, timeInForce: 'ioc' })).json();
    const fok = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 50, timeInForce: 'fok' })).json();
    await settle();
    expect(await order(ioc.id)).toMatchObject({ status: 'cancelled', filledQuantity: 30 });
    expect(await order(fok.id)).toMatchObject({ status: 'cancelled', filledQuantity: 0 });
    expect((await portfolio()).reservedCash).toBe(0);
  });

  it('cancels an open order once, and a cancel racing a fill has exactly one winner', async () => {
    const resting = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99, quantity: 10 })).json();
    await settle();
    const first = await call(t, trader, { method: 'DELETE', url: `/api/orders/${resting.id}` });
    expect(first.json()).toMatchObject({ status: 'cancelled' });
    expect((await call(t, trader, { method: 'DELETE', url: `/api/orders/${resting.id}` })).statusCode).toBe(409);

    const raced = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99.9, quantity: 10, timeInForce: 'gtc' })).json();
    await settle();
    const cancel = call(t, trader, { method: 'DELETE', url: `/api/orders/${raced.id}` });
    setQuote(t.platform, 'AAPL', { bid: 99.8, ask: 99.9 });
    const res = await cancel;
    await settle();
    const final = await order(raced.id);
    if (res.statusCode === 200) expect(final.status).toBe('cancelled');
    else expect([res.statusCode, final.status]).toEqual([409, 'filled']);
    expect((await portfolio()).reservedCash).toBe(0);
  });

  it('200 concurrent market buys on one account never overspend its cash', async () => {
    const poor = await newTrader(t, 10_000);
    const results = await Promise.all(Array.from({ length: 200 }, () => place(t, poor, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 })));
    await settle();
    const accepted = results.filter((r) => r.statusCode === 201);
    for (const r of results.filter((r) => r.statusCode !== 201)) expect(r.json().code).toBe('insufficient_buying_power');
    // Each is covered at the ask plus the 10% collar (110.011) until its fill frees the difference:
    // at least 90 are accepted, and no more than 99 at 100.01 fit in 10,000.
    expect(accepted.length).toBeGreaterThanOrEqual(90);
    expect(accepted.length).toBeLessThanOrEqual(99);
    const p = await portfolio(poor);
    expect(p.positions[0].quantity).toBe(accepted.length);
    expect(p.cash).toBeCloseTo(10_000 - accepted.length * 100.01, 6);
    expect(p.reservedCash).toBe(0);
  });

  it('caps a fill at what the account can settle when the price gaps past the reservation', async () => {
    const small = await newTrader(t, 1_000);
    // Reserved at the stop plus the collar: 9 × 110.55 = 994.95.
    const stop = (await place(t, small, { symbol: 'AAPL', side: 'buy', type: 'stop', stopPrice: 100.5, quantity: 9, timeInForce: 'gtc' })).json();
    await settle();
    setQuote(t.platform, 'AAPL', { bid: 124.99, ask: 125, last: 125 });
    await settle();
    // 1,000 buys 8 at 125; the ninth stays open, reserved.
    const filled = (await call(t, small, { url: `/api/orders/${stop.id}` })).json();
    expect(filled).toMatchObject({ status: 'partially_filled', triggered: true, filledQuantity: 8, averageFillPrice: 125 });
    expect((await portfolio(small)).cash).toBe(0);
  });

  it('reconciles: positions, cash and orders agree with the executions', async () => {
    await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 7 });
    await place(t, trader, { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 3 });
    await settle();
    const report = await reconcile(t.platform.db);
    expect(report.problems).toEqual([]);
    expect(report.orders).toBeGreaterThan(0);
  });
});
