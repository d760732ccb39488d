/**
 * The order model and its state machine. Prices are integer units (kernel/money.ts), quantities
 * whole shares. An order is open while `accepted` or `partially_filled`; every other status is final.
 */
export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok';
export type OrderStatus = 'accepted' | 'partially_filled' | 'filled' | 'cancelled' | 'expired' | 'rejected';

export const ORDER_STATUSES: readonly OrderStatus[] = ['accepted', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected'];

/** What a client asks for, already parsed into units. */
export interface OrderRequest {
  symbol: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: number;
  limitPrice: number | null;
  stopPrice: number | null;
  clientOrderId: string | null;
}

export interface Order {
  readonly id: number;
  readonly accountId: number;
  readonly clientOrderId: string | null;
  readonly instrumentId: number;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: number;
  readonly limitPrice: number | null;
  readonly stopPrice: number | null;
  status: OrderStatus;
  filledQuantity: number;
  /** Σ fill quantity × price, in units: the average price is filledNotional / filledQuantity. */
  filledNotional: number;
  rejectReason: string | null;
  rejectMessage: string | null;
  /** A stop or stop-limit whose stop price has been touched (it now works as market or limit). */
  triggered: boolean;
  readonly createdAt: number;
  updatedAt: number;
}

export function isOpen(order: Pick<Order, 'status'>): boolean {
  return order.status === 'accepted' || order.status === 'partially_filled';
}

export function remaining(order: Pick<Order, 'quantity' | 'filledQuantity'>): number {
  return order.quantity - order.filledQuantity;
}

/** Records a fill; the status follows from the quantities. */
export function fill(order: Order, quantity: number, price: number, ts: number): void {
  if (!isOpen(order) || quantity <= 0 || quantity > remaining(order)) {
    throw new RangeError(`cannot fill ${quantity} of order ${order.id} (${order.status}, ${remaining(order)} left)`);
  }
  order.filledQuantity += quantity;
  order.filledNotional += quantity * price;
  order.status = order.filledQuantity === order.quantity ? 'filled' : 'partially_filled';
  order.updatedAt = ts;
}

/** Ends an open order: cancelled by its owner or the broker (ioc/fok remainder), or expired at the close. */
export function close(order: Order, status: 'cancelled' | 'expired', ts: number): void {
  if (!isOpen(order)) throw new RangeError(`order ${order.id} is already ${order.status}`);
  order.status = status;
  order.updatedAt = ts;
}

/** True when a replayed request with the same client order id asks for the same order. */
export function samePayload(order: Order, request: OrderRequest): boolean {
  return (
    order.symbol === request.symbol &&
    order.side === request.side &&
    order.type === request.type &&
    order.timeInForce === request.timeInForce &&
    order.quantity === request.quantity &&
    order.limitPrice === request.limitPrice &&
    order.stopPrice === request.stopPrice
  );
}
