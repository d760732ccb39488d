/**
 * The broker port. The engine routes accepted orders to a broker and learns what happened through
 * an ExecutionListener; the paper broker simulates fills against the quote book, and a real
 * broker adapter (FIX, REST) would implement the same interface with asynchronous reports.
 */
import type { Order } from './order.ts';

export interface ExecutionListener {
  /** A fill of `quantity` at `price` (units) at time `ts`. */
  onFill(order: Order, quantity: number, price: number, ts: number): void;
  /** A stop or stop-limit order's stop price was touched. */
  onTriggered(order: Order, ts: number): void;
  /** The broker ended the order: an ioc/fok remainder (cancelled) or a day order at the close (expired). */
  onClosed(order: Order, status: 'cancelled' | 'expired', ts: number): void;
  /** The most the account can settle of this order at this price (paper trading's cash check at fill time). */
  affordable(order: Order, price: number): number;
}

export interface Broker {
  setListener(listener: ExecutionListener): void;
  /** Routes an accepted order; fills may be reported before this returns. */
  submit(order: Order): void;
  /** Cancels a working order; false when the broker no longer works it. */
  cancel(order: Order): boolean;
  /** Re-registers an open order after a restart, without matching it now. */
  restore(order: Order): void;
  /** Forgets every working order (before a rebuild from the database). */
  reset(): void;
  /** Forgets these accounts' working orders (their shard moved to another instance). */
  forget(accountIds: ReadonlySet<number>): void;
  start(): void;
  stop(): void;
}
