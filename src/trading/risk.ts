/**
 * Pre-trade risk checks: pure functions of an account's in-memory state, the instrument, the
 * current quote and the session. Each rule has a stable reason code (the 422 `code`) and a message
 * naming the numbers involved (the code's template in the error catalogue, kernel/error-codes.ts). Passing orders get the reservation they will hold while open.
 */
import { errorMessage, type MessageParams } from '../kernel/error-codes.ts';
import { fromUnits } from '../kernel/money.ts';
import type { StoredInstrument } from '../market-data/instrument-store.ts';
import type { AccountState, Reservation } from './account.ts';
import type { OrderRequest } from './order.ts';

export type RejectCode =
  | 'order_rate_exceeded'
  | 'instrument_not_tradable'
  | 'market_closed'
  | 'invalid_lot_size'
  | 'invalid_tick_size'
  | 'price_outside_collar'
  | 'max_notional_exceeded'
  | 'max_position_exceeded'
  | 'insufficient_position'
  | 'insufficient_buying_power';

export interface Rejection {
  code: RejectCode;
  message: string;
}

export interface MarketView {
  bid: number;
  ask: number;
  last: number;
  sessionOpen: boolean;
}

export type RiskDecision = { ok: true; reservation: Reservation } | { ok: false; rejection: Rejection };

const reject = <C extends RejectCode>(code: C, params: MessageParams<C>): RiskDecision => ({ ok: false, rejection: { code, message: errorMessage(code, params) } });
const money = (units: number) => fromUnits(units).toFixed(2);
const BPS = 10_000;

/**
 * The price an order is valued and reserved at: its limit; for stop orders the stop; for market
 * orders the touch. Orders that may fill at a worse price than known now (market, stop) are valued
 * a collar's width worse, which is as far as a fill is expected to go.
 */
export function referencePrice(request: Pick<OrderRequest, 'side' | 'limitPrice' | 'stopPrice'>, market: MarketView, collarBps: number): number {
  if (request.limitPrice !== null) return request.limitPrice;
  const base = request.stopPrice ?? (request.side === 'buy' ? market.ask : market.bid);
  return request.side === 'buy' ? Math.ceil((base * (BPS + collarBps)) / BPS) : base;
}

/**
 * Runs every rule in order, cheapest first; the first failure is the answer. `sharedRate` is the
 * answer of the order-rate bucket shared by every instance (Redis) when it gave one; otherwise the
 * account's own bucket decides.
 */
export function checkOrder(
  account: AccountState,
  request: OrderRequest,
  instrument: StoredInstrument,
  market: MarketView,
  now: number,
  priceOf: (instrumentId: number) => number,
  sharedRate?: boolean,
): RiskDecision {
  const limits = account.limits;
  if (!(sharedRate ?? account.takeRateToken(now))) return reject('order_rate_exceeded', { limit: limits.maxOrdersPerSecond, accountId: account.id });
  if (!instrument.tradable) return reject('instrument_not_tradable', { symbol: instrument.symbol });
  // Outside the session only good-till-cancelled orders that wait for a price may rest.
  if (!market.sessionOpen && (request.timeInForce !== 'gtc' || request.type === 'market')) {
    return reject('market_closed', {});
  }
  if (request.quantity % instrument.lotSize !== 0) {
    return reject('invalid_lot_size', { quantity: request.quantity, lotSize: instrument.lotSize, symbol: instrument.symbol });
  }
  for (const [field, price] of [['limitPrice', request.limitPrice], ['stopPrice', request.stopPrice]] as const) {
    if (price === null) continue;
    if (price <= 0 || price % instrument.tickSize !== 0) {
      return reject('invalid_tick_size', { field, price: fromUnits(price), tickSize: fromUnits(instrument.tickSize), symbol: instrument.symbol });
    }
    const band = Math.floor((market.last * limits.collarBps) / BPS);
    if (Math.abs(price - market.last) > band) {
      return reject('price_outside_collar', { field, price: money(price), collarPercent: limits.collarBps / 100, last: money(market.last) });
    }
  }
  const price = referencePrice(request, market, limits.collarBps);
  const notional = price * request.quantity;
  if (notional > limits.maxOrderNotional) {
    return reject('max_notional_exceeded', { notional: money(notional), limit: money(limits.maxOrderNotional) });
  }
  const holding = account.holdings.get(instrument.id);
  const held = holding?.quantity ?? 0;
  const worst = request.side === 'buy' ? held + (holding?.openBuy ?? 0) + request.quantity : held - (holding?.openSell ?? 0) - request.quantity;
  if (Math.abs(worst) > limits.maxPositionQuantity) {
    return reject('max_position_exceeded', { position: worst, symbol: instrument.symbol, limit: limits.maxPositionQuantity });
  }
  let heldQuantity = 0;
  let cashQuantity = request.quantity;
  if (request.side === 'sell') {
    const sellable = Math.max(0, Math.max(0, held) - (holding?.openSell ?? 0));
    heldQuantity = Math.min(request.quantity, sellable);
    cashQuantity = request.quantity - heldQuantity;
    if (cashQuantity > 0 && !account.allowShort) {
      return reject('insufficient_position', { quantity: request.quantity, symbol: instrument.symbol, sellable });
    }
  }
  const cost = cashQuantity * price;
  const buyingPower = account.buyingPower(priceOf);
  if (cost > buyingPower) {
    return reject('insufficient_buying_power', { cost: money(cost), available: money(Math.max(0, buyingPower)) });
  }
  return { ok: true, reservation: { price, cashQuantity, heldQuantity } };
}
