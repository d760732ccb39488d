/**
 * Paper execution against the simulated market. Market orders take the ask (buys) or the bid
 * (sells); limit orders fill at the touch once it crosses their limit; stop orders trigger when the
 * last price reaches the stop, then work as market (stop) or limit (stop-limit) orders. A fill is
 * capped by the quoted size on the touch, so large orders fill partially across ticks; on one tick
 * the resting orders of a symbol share that size in time priority. Resting orders are indexed by
 * instrument, so a tick touches only its own symbol's orders. Day orders expire at the session close.
 */
import type { MessageBus } from '../kernel/bus.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Tick } from '../market-data/feed.ts';
import type { MarketClock } from '../market-data/market-clock.ts';
import type { QuoteBook } from '../market-data/quote-book.ts';
import type { Broker, ExecutionListener } from './broker.ts';
import { isOpen, remaining, type Order } from './order.ts';

const SWEEP_MS = 1_000;

export interface PaperBrokerDeps {
  bus: MessageBus;
  book: QuoteBook;
  clock: Clock;
  marketClock: MarketClock;
  lotSize: (instrumentId: number) => number;
}

interface Touch {
  price: number;
  size: number;
}

export class PaperBroker implements Broker {
  private listener: ExecutionListener | undefined;
  private readonly resting = new Map<number, Set<Order>>();
  /** Day orders with the close they expire at. */
  private readonly expiries = new Map<Order, number>();
  private unsubscribe: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  /** Subscribes to quotes at once (no timer): resting orders fill from the first tick, even before `start()`. */
  constructor(private readonly deps: PaperBrokerDeps) {
    this.unsubscribe = deps.bus.subscribe('quote.*', (tick) => this.onTick(tick));
  }

  setListener(listener: ExecutionListener): void {
    this.listener = listener;
  }

  /** Starts the day-order expiry sweep. */
  start(): void {
    this.sweepTimer ??= setInterval(() => this.expireDue(this.deps.clock.now()), SWEEP_MS).unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  submit(order: Order): void {
    const now = this.deps.clock.now();
    const quote = this.deps.book.get(order.instrumentId)!;
    const touch = { buy: { price: quote.ask, size: quote.askSize }, sell: { price: quote.bid, size: quote.bidSize } }[order.side];
    if (order.timeInForce === 'fok' && this.executable(order, quote.last, touch) < remaining(order)) {
      this.listener!.onClosed(order, 'cancelled', now);
      return;
    }
    this.work(order, quote.last, touch, now);
    if (!isOpen(order)) return;
    if (order.timeInForce === 'ioc' || order.timeInForce === 'fok') {
      this.listener!.onClosed(order, 'cancelled', now);
      return;
    }
    this.rest(order, now);
  }

  cancel(order: Order): boolean {
    const set = this.resting.get(order.instrumentId);
    if (!set?.delete(order)) return false;
    this.expiries.delete(order);
    return true;
  }

  restore(order: Order): void {
    this.rest(order, order.createdAt);
  }

  reset(): void {
    this.resting.clear();
    this.expiries.clear();
  }

  forget(accountIds: ReadonlySet<number>): void {
    for (const set of this.resting.values()) {
      for (const order of set) if (accountIds.has(order.accountId)) this.cancel(order);
    }
  }

  /** Expires the day orders whose session has closed by `now` (a timer calls it; tests may too). */
  expireDue(now: number): void {
    for (const [order, expiresAt] of this.expiries) {
      if (expiresAt > now) continue;
      this.cancel(order);
      this.listener!.onClosed(order, 'expired', now);
    }
  }

  /** Matches this symbol's resting orders against a new quote; they share the quoted size. */
  onTick(tick: Tick): void {
    const set = this.resting.get(tick.id);
    if (!set || set.size === 0) return;
    const quote = this.deps.book.get(tick.id)!;
    const buy = { price: tick.ask, size: quote.askSize };
    const sell = { price: tick.bid, size: quote.bidSize };
    for (const order of set) {
      this.work(order, tick.last, order.side === 'buy' ? buy : sell, tick.ts);
      if (!isOpen(order)) this.cancel(order);
    }
  }

  private rest(order: Order, now: number): void {
    let set = this.resting.get(order.instrumentId);
    if (!set) this.resting.set(order.instrumentId, (set = new Set()));
    set.add(order);
    if (order.timeInForce === 'day') this.expiries.set(order, this.deps.marketClock.sessionEnd(order.createdAt) ?? now);
  }

  /** Triggers and fills what the touch allows; consumes the touch's size. */
  private work(order: Order, last: number, touch: Touch, ts: number): void {
    if ((order.type === 'stop' || order.type === 'stop_limit') && !order.triggered) {
      if (!(order.side === 'buy' ? last >= order.stopPrice! : last <= order.stopPrice!)) return;
      this.listener!.onTriggered(order, ts);
    }
    const quantity = this.executable(order, last, touch);
    if (quantity === 0) return;
    touch.size -= quantity;
    this.listener!.onFill(order, quantity, touch.price, ts);
  }

  /** Shares that would fill now: limited by the limit price, the touch size, the account's cash, whole lots. */
  private executable(order: Order, last: number, touch: Touch): number {
    const stopped = order.type === 'stop' || order.type === 'stop_limit';
    if (stopped && !order.triggered && !(order.side === 'buy' ? last >= order.stopPrice! : last <= order.stopPrice!)) return 0;
    if (order.limitPrice !== null && (order.side === 'buy' ? touch.price > order.limitPrice : touch.price < order.limitPrice)) return 0;
    const lot = this.deps.lotSize(order.instrumentId);
    const wanted = Math.min(remaining(order), touch.size, this.listener!.affordable(order, touch.price));
    return Math.max(0, wanted - (wanted % lot));
  }
}
