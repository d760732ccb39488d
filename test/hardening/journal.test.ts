/**
 * Isolation of failure in the group commit: an order row the database would refuse fails that
 * command alone (422), never the batch it would have joined and never the engine. The Journal is
 * tested on its own first, then through the engine with the HTTP edge bypassed. (A genuine database
 * failure still halts and rebuilds: test/trading/recovery.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UnprocessableError } from '../../src/kernel/errors.ts';
import { Journal } from '../../src/trading/journal.ts';
import type { Order, OrderRequest } from '../../src/trading/order.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { newTrader, setQuote, type Trader } from '../trading/helpers.ts';

/** Values each order column refuses (type, range or CHECK), one at a time. */
const UNSTORABLE: [keyof Order, unknown][] = [
  ['quantity', Infinity],
  ['quantity', -Infinity],
  ['quantity', NaN],
  ['quantity', 1e19],
  ['quantity', 0],
  ['quantity', 2.5],
  ['limitPrice', 2 ** 53],
  ['stopPrice', -Infinity],
  ['filledNotional', 1e300],
  ['instrumentId', 2 ** 31],
  ['side', 'sideways'],
  ['clientOrderId', 'a\u0000b'],
  ['clientOrderId', '\ud800'],
  ['rejectMessage', 'nul\u0000'],
  ['createdAt', 8.64e15 + 1],
  ['updatedAt', -1],
];

describe.each(await engines())('group commit isolation on $name', (engine) => {
  let t: TestPlatform;
  let trader: Trader;
  let nextId = 9_000_000_000;

  const order = (overrides: Partial<Order> = {}): Order => {
    const now = t.platform.clock.now();
    const instrument = t.platform.marketData.instrument('AAPL');
    return {
      id: nextId++,
      accountId: trader.accountId,
      clientOrderId: null,
      instrumentId: instrument.id,
      symbol: instrument.symbol,
      side: 'buy',
      type: 'limit',
      timeInForce: 'day',
      quantity: 1,
      limitPrice: 1_000_000,
      stopPrice: null,
      status: 'cancelled',
      filledQuantity: 0,
      filledNotional: 0,
      rejectReason: null,
      rejectMessage: null,
      triggered: false,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
  };
  const stored = async (id: number) => (await t.platform.db.query('SELECT 1 FROM trading_orders WHERE id = $1', [id])).rows.length;

  beforeAll(async () => {
    t = await startTestPlatform(engine);
    trader = await newTrader(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the journal refuses an unstorable order row when recorded; the rows around it commit', async () => {
    const onFailure = vi.fn();
    const { ownership } = t.platform;
    const fence = { holder: ownership.holder, lease: (id: number) => ownership.leaseOf(ownership.shardOf(id)), epoch: (id: number) => ownership.epochOf(ownership.shardOf(id))! };
    const journal = new Journal(t.platform.db, { maxBatchRows: 1_000, maxWaitMs: 0, onFailure, fence });
    for (const [field, value] of UNSTORABLE) {
      const before = order();
      const bad = order({ [field]: value });
      const after = order();
      journal.order(before);
      let refused: unknown;
      try {
        journal.order(bad);
      } catch (error) {
        refused = error;
      }
      expect(refused, `${field} = ${String(value)}`).toBeInstanceOf(UnprocessableError);
      expect(refused).toMatchObject({ status: 422, code: 'unstorable_value', details: { field } });
      journal.order(after);
      await journal.durable();
      expect(await stored(before.id)).toBe(1);
      expect(await stored(bad.id)).toBe(0);
      expect(await stored(after.id)).toBe(1);
    }
    expect(onFailure).not.toHaveBeenCalled();
    expect(journal.stats.failures).toBe(0);
  });

  it('an unwritable order past the edge fails alone: the engine keeps running and other accounts commit in the same batch', async () => {
    const { engine: trading } = t.platform.trading;
    const other = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    const request = (quantity: number): OrderRequest => ({ symbol: 'AAPL', side: 'buy', type: 'limit', timeInForce: 'day', quantity, limitPrice: 900_000, stopPrice: null, clientOrderId: null });
    const failuresBefore = trading.journal.stats.failures;
    for (const quantity of [Infinity, -Infinity, Number('1e400'), NaN, 1e19]) {
      // Both commands land in the same group commit: the good one must not pay for the bad one.
      const [bad, good] = await Promise.allSettled([trading.place(trader.accountId, request(quantity)), trading.place(other.accountId, request(1))]);
      expect(bad.status).toBe('rejected');
      const status = bad.status === 'rejected' ? (bad.reason as { status?: number }).status : undefined;
      expect(status, `quantity ${quantity}`).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(good.status).toBe('fulfilled');
      expect(trading.running).toBe(true);
    }
    expect(trading.journal.stats.failures).toBe(failuresBefore);
    // The refused commands left nothing behind in memory or in the database.
    const accepted = await trading.place(trader.accountId, request(2));
    expect(accepted.order.status).toBe('accepted');
    expect((await reconcile(t.platform.db)).problems).toEqual([]);
  });
});
