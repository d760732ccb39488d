/**
 * One account's in-memory state: the durable image (cash, positions) plus what only memory needs
 * (reservations of open orders, the order-rate bucket, known client order ids). It is mutated by
 * one writer — the engine, in synchronous steps — so checks and updates never race.
 */
import { TokenBucket } from '../kernel/token-bucket.ts';
import type { RiskLimits } from './limits.ts';
import type { Order } from './order.ts';
import type { Position } from './position.ts';

/** A position plus the open-order quantities that risk checks count against it. */
export interface Holding extends Position {
  /** Remaining quantity of open buy orders. */
  openBuy: number;
  /** Remaining quantity of open sell orders. */
  openSell: number;
}

/** What an open order holds back, released as it fills or ends. */
export interface Reservation {
  /** Price per share the cash part is reserved at (limit price, or a collared market price). */
  price: number;
  /** Shares of the cash-reserved part still unfilled (buys, and the short part of sells). */
  cashQuantity: number;
  /** Shares of a sell covered by the long position, still unfilled. */
  heldQuantity: number;
}

export interface WorkingOrder {
  order: Order;
  reservation: Reservation;
}

/** Client order ids remembered per account before the oldest are forgotten (then misses ask the database). */
const MAX_CLIENT_IDS = 50_000;

export class AccountState {
  cash: number;
  /** Cash held back for open orders: Σ cashQuantity × price over them. */
  reservedCash = 0;
  readonly holdings = new Map<number, Holding>();
  readonly open = new Map<number, WorkingOrder>();
  /** Client order id → order id, for orders placed or loaded in this process. */
  private readonly clientIds = new Map<string, number>();
  /** Whether older client ids may exist only in the database. */
  clientIdsIncomplete: boolean;
  /** The order rate (limits.maxOrdersPerSecond, read at each order: an admin may change it). */
  private readonly orderRate: TokenBucket;

  constructor(
    readonly id: number,
    readonly openingCash: number,
    cash: number,
    public allowShort: boolean,
    public limits: RiskLimits,
    hasHistoricalClientIds: boolean,
    now: number,
  ) {
    this.cash = cash;
    this.clientIdsIncomplete = hasHistoricalClientIds;
    this.orderRate = new TokenBucket(limits.maxOrdersPerSecond, now);
  }

  holding(instrumentId: number): Holding {
    let h = this.holdings.get(instrumentId);
    if (!h) this.holdings.set(instrumentId, (h = { quantity: 0, costBasis: 0, realizedPnl: 0, openBuy: 0, openSell: 0 }));
    return h;
  }

  /** Takes one order-rate token; false when the account is over its rate. */
  takeRateToken(now: number): boolean {
    return this.orderRate.take(now, this.limits.maxOrdersPerSecond);
  }

  rememberClientId(clientOrderId: string, orderId: number): void {
    if (this.clientIds.size >= MAX_CLIENT_IDS) {
      // Maps iterate in insertion order: forget the oldest; the unique index still knows it.
      this.clientIds.delete(this.clientIds.keys().next().value!);
      this.clientIdsIncomplete = true;
    }
    this.clientIds.set(clientOrderId, orderId);
  }

  clientOrder(clientOrderId: string): number | undefined {
    return this.clientIds.get(clientOrderId);
  }

  /** Short exposure at the given prices: what short sales' proceeds must keep covering. */
  shortExposure(priceOf: (instrumentId: number) => number): number {
    let exposure = 0;
    for (const [instrumentId, h] of this.holdings) if (h.quantity < 0) exposure -= h.quantity * priceOf(instrumentId);
    return exposure;
  }

  buyingPower(priceOf: (instrumentId: number) => number): number {
    return this.cash - this.reservedCash - (this.allowShort ? this.shortExposure(priceOf) : 0);
  }

  /** Holds back what a newly accepted order may consume. */
  reserve(working: WorkingOrder): void {
    const { order, reservation } = working;
    const h = this.holding(order.instrumentId);
    if (order.side === 'buy') h.openBuy += reservation.cashQuantity;
    else h.openSell += reservation.cashQuantity + reservation.heldQuantity;
    this.reservedCash += reservation.cashQuantity * reservation.price;
    this.open.set(order.id, working);
  }

  /** Releases the reservation of `quantity` filled shares (held shares first for sells). */
  consume(working: WorkingOrder, quantity: number): void {
    const { order, reservation } = working;
    const fromHeld = Math.min(quantity, reservation.heldQuantity);
    const fromCash = quantity - fromHeld;
    reservation.heldQuantity -= fromHeld;
    reservation.cashQuantity -= fromCash;
    this.reservedCash -= fromCash * reservation.price;
    const h = this.holding(order.instrumentId);
    if (order.side === 'buy') h.openBuy -= quantity;
    else h.openSell -= quantity;
  }

  /** Releases everything an order still holds (it ended) and forgets it as open. */
  release(working: WorkingOrder): void {
    this.consume(working, working.reservation.heldQuantity + working.reservation.cashQuantity);
    this.open.delete(working.order.id);
  }
}
