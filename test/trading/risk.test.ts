import { describe, expect, it } from 'vitest';
import { toUnits } from '../../src/kernel/money.ts';
import type { StoredInstrument } from '../../src/market-data/instrument-store.ts';
import { AccountState } from '../../src/trading/account.ts';
import { resolveLimits, type RiskLimits } from '../../src/trading/limits.ts';
import type { Order, OrderRequest } from '../../src/trading/order.ts';
import { checkOrder, type MarketView, type RiskDecision } from '../../src/trading/risk.ts';

const NOW = Date.UTC(2026, 0, 5, 15);
const LIMITS: RiskLimits = { maxOrderNotional: toUnits(50_000), maxPositionQuantity: 1_000, collarBps: 1_000, maxOrdersPerSecond: 1_000 };
const INSTRUMENT: StoredInstrument = { id: 1, symbol: 'ACME', name: 'Acme', sector: 'x', exchange: 'X', tickSize: 100, lotSize: 10, basePrice: toUnits(100), volatility: 0.2, avgVolume: 1e6, tradable: true };
const OPEN: MarketView = { bid: toUnits(99.99), ask: toUnits(100.01), last: toUnits(100), sessionOpen: true };

const account = (overrides: { cash?: number; limits?: Partial<RiskLimits>; allowShort?: boolean } = {}) =>
  new AccountState(1, toUnits(100_000), toUnits(overrides.cash ?? 100_000), overrides.allowShort ?? false, { ...LIMITS, ...overrides.limits }, false, NOW);

const order = (overrides: Partial<OrderRequest> = {}): OrderRequest => ({
  symbol: 'ACME', side: 'buy', type: 'limit', timeInForce: 'day', quantity: 10, limitPrice: toUnits(100), stopPrice: null, clientOrderId: null, ...overrides,
});

const check = (a: AccountState, r: OrderRequest, market = OPEN, instrument = INSTRUMENT, now = NOW): RiskDecision => checkOrder(a, r, instrument, market, now, () => OPEN.last);
const code = (d: RiskDecision) => (d.ok ? 'ok' : d.rejection.code);

/** Accepts the order as the engine would: reserves what it holds. */
function accept(a: AccountState, r: OrderRequest, id: number): void {
  const d = check(a, r);
  if (!d.ok) throw new Error(d.rejection.message);
  a.reserve({ order: { id, accountId: a.id, instrumentId: INSTRUMENT.id, ...r, status: 'accepted', filledQuantity: 0, filledNotional: 0 } as unknown as Order, reservation: d.reservation });
}

describe('pre-trade risk', () => {
  it('accepts an order inside every limit and reserves its notional', () => {
    const d = check(account(), order());
    expect(d).toEqual({ ok: true, reservation: { price: toUnits(100), cashQuantity: 10, heldQuantity: 0 } });
  });

  it('limits the order rate per account with a one-second token bucket', () => {
    const a = account({ limits: { maxOrdersPerSecond: 2 } });
    expect([check(a, order()), check(a, order()), check(a, order())].map(code)).toEqual(['ok', 'ok', 'order_rate_exceeded']);
    expect(code(check(a, order(), OPEN, INSTRUMENT, NOW + 500))).toBe('ok');
  });

  it('refuses instruments that are not tradable', () => {
    expect(code(check(account(), order(), OPEN, { ...INSTRUMENT, tradable: false }))).toBe('instrument_not_tradable');
  });

  it('outside the session accepts only gtc orders that wait for a price', () => {
    const closed = { ...OPEN, sessionOpen: false };
    expect(code(check(account(), order(), closed))).toBe('market_closed');
    expect(code(check(account(), order({ type: 'market', limitPrice: null, timeInForce: 'gtc' }), closed))).toBe('market_closed');
    expect(code(check(account(), order({ timeInForce: 'gtc' }), closed))).toBe('ok');
  });

  it('enforces lot size and tick size', () => {
    expect(code(check(account(), order({ quantity: 15 })))).toBe('invalid_lot_size');
    expect(code(check(account(), order({ quantity: 20 })))).toBe('ok');
    expect(code(check(account(), order({ limitPrice: toUnits(100.005) })))).toBe('invalid_tick_size');
    expect(code(check(account(), order({ type: 'stop', limitPrice: null, stopPrice: toUnits(100.015) })))).toBe('invalid_tick_size');
  });

  it('keeps limit and stop prices within the collar around the last price, on both sides', () => {
    expect(code(check(account(), order({ limitPrice: toUnits(110) })))).toBe('ok');
    expect(code(check(account(), order({ limitPrice: toUnits(110.01) })))).toBe('price_outside_collar');
    expect(code(check(account(), order({ limitPrice: toUnits(89.99) })))).toBe('price_outside_collar');
    expect(code(check(account(), order({ type: 'stop', limitPrice: null, stopPrice: toUnits(120) })))).toBe('price_outside_collar');
  });

  it('caps the notional of one order; market orders are valued a collar worse than the touch', () => {
    expect(code(check(account(), order({ quantity: 500 })))).toBe('ok');
    expect(code(check(account(), order({ quantity: 510 })))).toBe('max_notional_exceeded');
    // 450 × 100.01 × 1.1 = 49,509.95 fits; 460 × 110.011 = 50,605.06 does not.
    expect(code(check(account(), order({ type: 'market', limitPrice: null, quantity: 450 })))).toBe('ok');
    expect(code(check(account(), order({ type: 'market', limitPrice: null, quantity: 460 })))).toBe('max_notional_exceeded');
  });

  it('caps the position per symbol, counting open orders on the same side', () => {
    const a = account({ limits: { maxOrderNotional: toUnits(1e9) }, cash: 1e6 });
    a.holding(1).quantity = 600;
    accept(a, order({ quantity: 300 }), 1);
    expect(code(check(a, order({ quantity: 100 })))).toBe('ok');
    expect(code(check(a, order({ quantity: 110 })))).toBe('max_position_exceeded');
  });

  it('sells only what is held and not already offered, unless shorting is enabled', () => {
    const a = account();
    a.holding(1).quantity = 30;
    accept(a, order({ side: 'sell', quantity: 20 }), 1);
    expect(code(check(a, order({ side: 'sell', quantity: 10 })))).toBe('ok');
    expect(code(check(a, order({ side: 'sell', quantity: 20 })))).toBe('insufficient_position');
    const shorter = account({ allowShort: true });
    const d = check(shorter, order({ side: 'sell', quantity: 20 }));
    expect(d).toEqual({ ok: true, reservation: { price: toUnits(100), cashQuantity: 20, heldQuantity: 0 } });
  });

  it('counts open orders against buying power', () => {
    const a = account({ cash: 10_000 });
    accept(a, order({ quantity: 60 }), 1);
    expect(a.reservedCash).toBe(toUnits(6_000));
    expect(code(check(a, order({ quantity: 40 })))).toBe('ok');
    expect(code(check(a, order({ quantity: 50 })))).toBe('insufficient_buying_power');
  });

  it('reads per-account overrides from the limits column, ignoring malformed values', () => {
    expect(resolveLimits(LIMITS, { maxOrderNotional: 1_000.5, maxPositionQuantity: 7, collarBps: 'wide', maxOrdersPerSecond: -1 })).toEqual({
      ...LIMITS,
      maxOrderNotional: toUnits(1_000.5),
      maxPositionQuantity: 7,
    });
    expect(resolveLimits(LIMITS, null)).toEqual(LIMITS);
  });
});
