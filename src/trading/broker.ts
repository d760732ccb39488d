/**
 * The broker port. The engine routes accepted orders to a broker (commands: submit, cancel) and
 * learns what happened from execution reports the broker sends to the engine's queued entry point,
 * as Nautilus Trader's execution clients do: a report sent while the engine is inside a step of its
 * own (submitting an order to a broker that fills at once) waits until that step is done, so the
 * broker never re-enters the engine. The paper broker simulates fills against the quote book, at
 * once or on a later tick; a real broker adapter (FIX, REST) reports whenever its venue answers.
 * A broker keeps its own record of the orders it works and never reads the engine's.
 */
import type { Order } from './order.ts';

/** What the broker reports about an order it works. Prices in units. */
export type ExecutionReport =
  | { kind: 'fill'; accountId: number; orderId: number; quantity: number; price: number; ts: number }
  /** A stop or stop-limit order's stop price was touched. */
  | { kind: 'triggered'; accountId: number; orderId: number; ts: number }
  /** The broker ended the order: an ioc/fok remainder (cancelled) or a day order at the close (expired). */
  | { kind: 'closed'; accountId: number; orderId: number; status: 'cancelled' | 'expired'; ts: number };

/** The engine as a broker sees it. */
export interface BrokerClient {
  /** Queues a report; the engine applies reports in the order they were sent, never inside its own step. */
  report(report: ExecutionReport): void;
  /**
   * The most the account can settle of this order at this price: the paper venue's cash check at fill
   * time (a real broker checks margin on its side). A read of the engine's state, changing nothing.
   */
  affordable(order: Pick<Order, 'id' | 'accountId' | 'side'>, price: number): number;
}

export interface Broker {
  connect(client: BrokerClient): void;
  /** Routes an accepted order; its reports may be sent during this call or later. */
  submit(order: Readonly<Order>): void;
  /** Cancels a working order; false when the broker no longer works it (filled or ended). */
  cancel(order: Readonly<Order>): boolean;
  /** Re-registers an open order after a restart, without matching it now. */
  restore(order: Readonly<Order>): void;
  /** Forgets every working order (before a rebuild from the database). */
  reset(): void;
  /** Forgets these accounts' working orders (their shard moved to another instance). */
  forget(accountIds: ReadonlySet<number>): void;
  start(): void;
  stop(): void;
}
