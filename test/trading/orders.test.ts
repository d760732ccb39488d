import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { reconcile } from '../../src/trading/reconcile.ts';
import type { OrderEvent } from '../../src/trading/dto.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, newTrader, place, setQuote, type Trader } from './helpers.ts';

describe.each(await engines())('orders on $name', (engine) => {
  let t: TestPlatform;
  let trader: Trader;

  beforeAll(async () => {
    t = await startTestPlatform(engine);
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    trader = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    setQuote(t.platform, 'MSFT', { bid: 49.99, ask: 50.01, last: 50 });
  });

  const portfolio = async (who = trader) => (await call(t, who, { url: '/api/portfolio' })).json();

  it('fills a market buy at the ask and moves cash, position and transactions exactly', async () => {
    const res = await place(t, trader, { symbol: 'aapl', side: 'buy', type: 'market', quantity: 10 });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ symbol: 'AAPL', status: 'filled', filledQuantity: 10, averageFillPrice: 100.01, timeInForce: 'day' });
    const p = await portfolio();
    expect(p.cash).toBe(100_000 - 1000.1);
    expect(p.positions).toEqual([expect.objectContaining({ symbol: 'AAPL', quantity: 10, averagePrice: 100.01, lastPrice: 100, marketValue: 1000, unrealizedPnl: -0.1 })]);
    expect(p.equity).toBe(100_000 - 0.1);
    const tx = (await call(t, trader, { url: '/api/portfolio/transactions' })).json();
    expect(tx.items).toEqual([expect.objectContaining({ kind: 'trade', amount: -1000.1, balanceAfter: 98_999.9 })]);

    const sell = await place(t, trader, { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 4 });
    expect(sell.json()).toMatchObject({ status: 'filled', averageFillPrice: 99.99 });
    const after = await portfolio();
    expect(after.positions[0]).toMatchObject({ quantity: 6, realizedPnl: -0.08 });
    expect(after.realizedPnl).toBe(-0.08);
  });

  it('rests a limit order and fills it when the price crosses, partially when the size is short', async () => {
    const res = await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99.5, quantity: 50, timeInForce: 'gtc' });
    expect(res.json()).toMatchObject({ status: 'accepted', filledQuantity: 0 });
    const id = res.json().id;
    expect((await portfolio()).reservedCash).toBe(99.5 * 50);
    setQuote(t.platform, 'AAPL', { bid: 99.3, ask: 99.4, askSize: 20 });
    await t.platform.trading.engine.journal.durable();
    let order = (await call(t, trader, { url: `/api/orders/${id}` })).json();
    expect(order).toMatchObject({ status: 'partially_filled', filledQuantity: 20, averageFillPrice: 99.4 });
    setQuote(t.platform, 'AAPL', { bid: 99.5, ask: 99.6 });
    setQuote(t.platform, 'AAPL', { bid: 99.4, ask: 99.5, askSize: 100 });
    await t.platform.trading.engine.journal.durable();
    order = (await call(t, trader, { url: `/api/orders/${id}` })).json();
    expect(order).toMatchObject({ status: 'filled', filledQuantity: 50 });
    const p = await portfolio();
    expect(p.reservedCash).toBe(0);
    expect(p.cash).toBe(100_000 - 20 * 99.4 - 30 * 99.5);
  });

  it('triggers stop and stop-limit orders at the stop price', async () => {
    await place(t, trader, { symbol: 'MSFT', side: 'buy', type: 'market', quantity: 100 });
    const stop = (await place(t, trader, { symbol: 'MSFT', side: 'sell', type: 'stop', stopPrice: 49, quantity: 40, timeInForce: 'gtc' })).json();
    const stopLimit = (await place(t, trader, { symbol: 'MSFT', side: 'sell', type: 'stop-limit', stopPrice: 48.5, limitPrice: 48.4, quantity: 60 })).json();
    expect([stop.status, stopLimit.status]).toEqual(['accepted', 'accepted']);
    setQuote(t.platform, 'MSFT', { bid: 48.95, ask: 48.97, last: 48.96 });
    await t.platform.trading.engine.journal.durable();
    const get = async (id: number) => (await call(t, trader, { url: `/api/orders/${id}` })).json();
    expect(await get(stop.id)).toMatchObject({ status: 'filled', triggered: true, averageFillPrice: 48.95 });
    expect(await get(stopLimit.id)).toMatchObject({ status: 'accepted', triggered: false });
    setQuote(t.platform, 'MSFT', { bid: 48.3, ask: 48.32, last: 48.31 });
    await t.platform.trading.engine.journal.durable();
    expect(await get(stopLimit.id)).toMatchObject({ status: 'accepted', triggered: true, filledQuantity: 0 });
    setQuote(t.platform, 'MSFT', { bid: 48.45, ask: 48.47, last: 48.46 });
    await t.platform.trading.engine.journal.durable();
    expect(await get(stopLimit.id)).toMatchObject({ status: 'filled', averageFillPrice: 48.45 });
    expect((await portfolio()).positions).toEqual([]);
  });

  it('ioc fills what it can and cancels the rest; fok fills completely or not at all', async () => {
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100, askSize: 30 });
    const ioc = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 100.01, quantity: 50, timeInForce: 'ioc' })).json();
    expect(ioc).toMatchObject({ status: 'cancelled', filledQuantity: 30 });
    const fok = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 50, timeInForce: 'fok' })).json();
    expect(fok).toMatchObject({ status: 'cancelled', filledQuantity: 0 });
    const fokOk = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 30, timeInForce: 'fok' })).json();
    expect(fokOk).toMatchObject({ status: 'filled', filledQuantity: 30 });
    expect((await portfolio()).reservedCash).toBe(0);
  });

  it('expires day orders at the close, keeps gtc orders', async () => {
    const day = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 95, quantity: 5 })).json();
    const gtc = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 95, quantity: 5, timeInForce: 'gtc' })).json();
    const events: string[] = [];
    const off = t.platform.bus.subscribe(`order.${trader.accountId}`, (e) => events.push(e.type));
    t.platform.trading.broker.expireDue(t.platform.clock.now() + 2 * 86_400_000);
    await t.platform.trading.engine.journal.durable();
    off();
    expect(events).toContain('expired');
    expect((await call(t, trader, { url: `/api/orders/${day.id}` })).json().status).toBe('expired');
    expect((await call(t, trader, { url: `/api/orders/${gtc.id}` })).json().status).toBe('accepted');
    expect((await portfolio()).reservedCash).toBe(475);
  });

  it('cancels an open order once: 200, then 409; another user sees 404', async () => {
    const order = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99, quantity: 10 })).json();
    const other = await newTrader(t);
    expect((await call(t, other, { method: 'DELETE', url: `/api/orders/${order.id}` })).statusCode).toBe(404);
    expect((await call(t, other, { url: `/api/orders/${order.id}` })).statusCode).toBe(404);
    const [a, b] = await Promise.all([
      call(t, trader, { method: 'DELETE', url: `/api/orders/${order.id}` }),
      call(t, trader, { method: 'DELETE', url: `/api/orders/${order.id}` }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect((a.statusCode === 200 ? a : b).json()).toMatchObject({ status: 'cancelled' });
    const filled = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 })).json();
    const late = await call(t, trader, { method: 'DELETE', url: `/api/orders/${filled.id}` });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'conflict' });
    expect((await portfolio()).reservedCash).toBe(0);
  });

  it('a cancel racing a fill: exactly one wins and the books agree', async () => {
    const order = (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99.9, quantity: 10, timeInForce: 'gtc' })).json();
    const cancel = call(t, trader, { method: 'DELETE', url: `/api/orders/${order.id}` });
    setQuote(t.platform, 'AAPL', { bid: 99.8, ask: 99.9 });
    const res = await cancel;
    await t.platform.trading.engine.journal.durable();
    const final = (await call(t, trader, { url: `/api/orders/${order.id}` })).json();
    if (res.statusCode === 200) expect(final.status).toBe('cancelled');
    else expect([res.statusCode, final.status]).toEqual([409, 'filled']);
    expect((await portfolio()).reservedCash).toBe(0);
  });

  it('replays an order placed with the same clientOrderId, 409 on a different payload', async () => {
    const payload = { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99, quantity: 3, clientOrderId: 'abc-1' };
    const [first, second] = await Promise.all([place(t, trader, payload), place(t, trader, payload)]);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    const conflict = await place(t, trader, { ...payload, quantity: 4 });
    expect(conflict.statusCode).toBe(409);
    // Another account may use the same client id.
    const other = await newTrader(t);
    expect((await place(t, other, payload)).json().id).not.toBe(first.json().id);
    // After a rebuild from the database the id is still known.
    await t.platform.trading.engine.reload();
    expect((await place(t, trader, payload)).json().id).toBe(first.json().id);
    const rejected = { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 2_000, clientOrderId: 'too-big' };
    const r1 = await place(t, trader, rejected);
    const r2 = await place(t, trader, rejected);
    expect([r1.statusCode, r2.statusCode]).toEqual([422, 422]);
    expect(r2.json()).toMatchObject({ code: 'insufficient_buying_power', orderId: r1.json().orderId });
  });

  it('200 concurrent market buys on one account never overspend its cash', async () => {
    const poor = await newTrader(t, 10_000);
    const batchesBefore = t.platform.trading.engine.journal.stats.batches;
    const results = await Promise.all(Array.from({ length: 200 }, () => place(t, poor, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 })));
    // Group commit: the 200 orders shared far fewer transactions than one each.
    expect(t.platform.trading.engine.journal.stats.batches - batchesBefore).toBeLessThan(100);
    const filled = results.filter((r) => r.statusCode === 201);
    const rejected = results.filter((r) => r.statusCode === 422);
    expect(filled.length + rejected.length).toBe(200);
    // Each market buy must be covered at the ask plus the 10% collar (110.011) and fills at 100.01:
    // the 99th leaves 99.01, which covers no more.
    expect(filled.length).toBe(99);
    for (const r of rejected) expect(r.json().code).toBe('insufficient_buying_power');
    const p = await portfolio(poor);
    expect(p.cash).toBe(99.01);
    expect(p.positions[0].quantity).toBe(filled.length);
  });

  it('rejects with 422 and a stable code, persisting the rejection', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5_000 }, 'insufficient_buying_power'],
      [{ symbol: 'AAPL', side: 'sell', type: 'market', quantity: 1 }, 'insufficient_position'],
      [{ symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 150, quantity: 1 }, 'price_outside_collar'],
      [{ symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99.999, quantity: 1 }, 'invalid_tick_size'],
      [{ symbol: 'NOPE', side: 'buy', type: 'market', quantity: 1 }, 'unknown_symbol'],
    ];
    for (const [payload, code] of cases) {
      const res = await place(t, trader, payload);
      expect(res.statusCode, code).toBe(422);
      expect(res.json()).toMatchObject({ status: 422, code, detail: expect.any(String) });
    }
    const rejected = (await call(t, trader, { url: '/api/orders?status=rejected' })).json();
    expect(rejected.items).toHaveLength(4);
  });

  it('answers 400 naming the field for malformed orders, never 500', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1 }, 'body.limitPrice'],
      [{ symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, limitPrice: 1 }, 'body.limitPrice'],
      [{ symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: '1.23456' }, 'body.limitPrice'],
      [{ symbol: 'AAPL', side: 'buy', type: 'limit', quantity: 1, limitPrice: -1 }, 'body.limitPrice'],
      [{ symbol: 'AAPL', side: 'buy', type: 'stop-limit', quantity: 1, limitPrice: 100 }, 'body.stopPrice'],
      [{ symbol: 'AAPL', side: 'hold', type: 'market', quantity: 1 }, 'body.side'],
      [{ symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1.5 }, 'body.quantity'],
      [{ symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1, clientOrderId: 'has space' }, 'body.clientOrderId'],
    ];
    for (const [payload, field] of bad) {
      const res = await place(t, trader, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.body).toContain(field);
    }
    expect((await call(t, trader, { url: '/api/orders?cursor=zzz' })).statusCode).toBe(400);
    expect((await call(t, trader, { url: '/api/orders/abc' })).statusCode).toBe(400);
    expect((await call(t, trader, { url: `/api/orders?accountId=${trader.accountId + 1000}` })).statusCode).toBe(404);
  });

  it('lists orders newest first with filters and an opaque cursor', async () => {
    for (let i = 0; i < 5; i++) await place(t, trader, { symbol: i % 2 ? 'MSFT' : 'AAPL', side: 'buy', type: 'limit', limitPrice: i % 2 ? 49 : 99, quantity: 1 });
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = (await call(t, trader, { url: '/api/orders', query: { limit: '2', ...(cursor ? { cursor } : {}) } })).json();
      seen.push(...page.items.map((o: { id: number }) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    const msft = (await call(t, trader, { url: '/api/orders?symbol=MSFT&status=accepted' })).json();
    expect(msft.items.map((o: { symbol: string }) => o.symbol)).toEqual(['MSFT', 'MSFT']);
  });

  it('publishes order, fill and portfolio events after commit', async () => {
    const seen: string[] = [];
    const offs = (['order', 'fill', 'portfolio'] as const).map((kind) =>
      t.platform.bus.subscribe(`${kind}.${trader.accountId}`, (e) => seen.push(kind === 'order' ? `order:${(e as OrderEvent).type}` : kind)),
    );
    await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 });
    await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 99, quantity: 1 }).then((r) => call(t, trader, { method: 'DELETE', url: `/api/orders/${r.json().id}` }));
    await place(t, trader, { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 5 });
    for (const off of offs) off();
    expect(seen).toEqual(['order:accepted', 'order:filled', 'fill', 'portfolio', 'order:accepted', 'order:cancelled', 'order:rejected']);
  });

  it('applies per-account limits and short permission set by an admin', async () => {
    const url = `/api/admin/accounts/${trader.accountId}/risk`;
    const settings = { allowShort: true, limits: { maxOrderNotional: 500 } };
    expect((await call(t, trader, { method: 'PUT', url, payload: settings })).statusCode).toBe(403);
    const res = await t.platform.app.inject({ method: 'PUT', url, headers: t.admin, payload: settings });
    expect(res.json()).toMatchObject({ allowShort: true, limits: { maxOrderNotional: 500 } });
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'limit', limitPrice: 100, quantity: 6 })).json().code).toBe('max_notional_exceeded');
    const short = await place(t, trader, { symbol: 'AAPL', side: 'sell', type: 'market', quantity: 4 });
    expect(short.json()).toMatchObject({ status: 'filled', averageFillPrice: 99.99 });
    const p = await portfolio();
    expect(p.positions[0]).toMatchObject({ quantity: -4, unrealizedPnl: -0.04 });
    expect(p.buyingPower).toBe(100_000 + 399.96 - 400);
  });

  it("measures the day's change from the last snapshot before the day, read from the database once until a snapshot is written", async () => {
    await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 });
    const snapshotReads = vi.spyOn(t.platform.db, 'query');
    const reads = () => snapshotReads.mock.calls.filter(([sql]) => String(sql).includes('FROM portfolio_snapshots')).length;
    try {
      expect((await portfolio()).dayChange).toBe(-0.1); // no snapshot yet: measured from the opening cash
      for (let i = 0; i < 5; i++) await portfolio();
      expect(reads()).toBe(1);
      // A snapshot two days back becomes the reference: nothing moved since, so the day's change is nil.
      await t.platform.trading.snapshots.snapshot(t.platform.clock.now() - 2 * 86_400_000);
      expect((await portfolio()).dayChange).toBe(0);
      expect(reads()).toBe(2);
    } finally {
      snapshotReads.mockRestore();
    }
  });

  it('serves the equity history and reconciles', async () => {
    await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 });
    await t.platform.trading.snapshots.snapshot(t.platform.clock.now() - 120_000);
    const history = (await call(t, trader, { url: '/api/portfolio/history' })).json();
    expect(history.points.length).toBeGreaterThanOrEqual(2);
    expect(history.points.at(-1)).toMatchObject({ cash: 100_000 - 1000.1 });
    await t.platform.trading.engine.journal.durable();
    const report = await reconcile(t.platform.db);
    expect(report.problems).toEqual([]);
    expect(report.accounts).toBeGreaterThan(0);
  });
});
