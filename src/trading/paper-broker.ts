/**
 * Paper execution against the simulated market. Market orders take the ask (buys) or the bid
 * (sells); limit orders fill at the touch once it crosses their limit; stop orders trigger when the
 * last price reaches the stop, then work as market (stop) or limit (stop-limit) orders. A fill is
 * capped by the quoted size on the touch, so large orders fill partially across ticks; on one tick
 * the resting orders of a symbol share that size in time priority. Resting orders are indexed by
 * instrument, so a tick touches only its own symbol's orders. Day orders expire at the session close.
 *
 * Like a venue, it keeps its own record of each order (what is left, whether it triggered) and tells
 * the engine only through execution reports. With `deferredFills` a submitted order is matched on a
 * later turn of the event loop, as a remote broker would answer, instead of during `submit`.
 */
import type { MessageBus } from '../kernel/bus.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Tick } from '../market-data/feed.ts';
import type { MarketClock } from '../market-data/market-clock.ts';
import type { QuoteBook } from '../market-data/quote-book.ts';
import type { Broker, BrokerClient, ExecutionReport } from './broker.ts';
import { remaining, type Order } from './order.ts';

const SWEEP_MS = 1_000;

export interface PaperBrokerDeps {
  bus: MessageBus;
  book: QuoteBook;
  clock: Clock;
  marketClock: MarketClock;
  lotSize: (instrumentId: number) => number;
  /** Match submitted orders on a later event-loop turn rather than inside `submit` (default false). */
  deferredFills?: boolean;
}

/** A report before it names its order. */
type ReportBody = ExecutionReport extends infer R ? (R extends ExecutionReport ? Omit<R, 'accountId' | 'orderId'> : never) : never;

interface Touch {
  price: number;
  size: number;
}

/** The broker's own record of an order it works. */
interface Working {
  readonly order: Readonly<Order>;
  /** Shares not yet filled. */
  leaves: number;
  triggered: boolean;
}

export class PaperBroker implements Broker {
  private client: BrokerClient | undefined;
  /** Instrument id -> order id -> resting order, in time priority (insertion order). */
  private readonly resting = new Map<number, Map<number, Working>>();
  /** Day orders with the close they expire at. */
  private readonly expiries = new Map<Working, number>();
  /** Submitted orders awaiting their deferred match, by order id. */
  private readonly pending = new Map<number, Working>();
  private matching: { immediate: NodeJS.Immediate; done: Promise<void>; resolve: () => void } | undefined;
  private unsubscribe: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  /** Subscribes to quotes at once (no timer): resting orders fill from the first tick, even before `start()`. */
  constructor(private readonly deps: PaperBrokerDeps) {
    this.unsubscribe = deps.bus.subscribe('quote.*', (tick) => this.onTick(tick));
  }

  connect(client: BrokerClient): void {
    this.client = client;
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
    this.pending.clear();
    // A stopped broker matches nothing more; whoever awaits `settled()` goes on.
    if (this.matching) clearImmediate(this.matching.immediate);
    this.matching?.resolve();
    this.matching = undefined;
  }

  submit(order: Readonly<Order>): void {
    const working: Working = { order: { ...order }, leaves: remaining(order), triggered: order.triggered };
    if (!this.deps.deferredFills) return this.match(working);
    this.pending.set(order.id, working);
    this.matching ??= this.scheduleMatch();
  }

  /** Resolves once every submitted order has been matched (deferred fills; at once otherwise). */
  async settled(): Promise<void> {
    await this.matching?.done;
  }

  cancel(order: Readonly<Order>): boolean {
    if (this.pending.delete(order.id)) return true;
    const working = this.resting.get(order.instrumentId)?.get(order.id);
    if (!working) return false;
    this.unrest(working);
    return true;
  }

  restore(order: Readonly<Order>): void {
    this.rest({ order: { ...order }, leaves: remaining(order), triggered: order.triggered }, order.createdAt);
  }

  reset(): void {
    this.resting.clear();
    this.expiries.clear();
    this.pending.clear();
  }

  forget(accountIds: ReadonlySet<number>): void {
    for (const [id, working] of this.pending) if (accountIds.has(working.order.accountId)) this.pending.delete(id);
    for (const orders of this.resting.values()) {
      for (const working of orders.values()) if (accountIds.has(working.order.accountId)) this.unrest(working);
    }
  }

  /** Expires the day orders whose session has closed by `now` (a timer calls it; tests may too). */
  expireDue(now: number): void {
    for (const [working, expiresAt] of this.expiries) {
      if (expiresAt > now) continue;
      this.unrest(working);
      this.report(working, { kind: 'closed', status: 'expired', ts: now });
    }
  }

  /** Matches this symbol's resting orders against a new quote; they share the quoted size. */
  onTick(tick: Tick): void {
    const orders = this.resting.get(tick.id);
    if (!orders || orders.size === 0) return;
    const quote = this.deps.book.get(tick.id)!;
    const buy = { price: tick.ask, size: quote.askSize };
    const sell = { price: tick.bid, size: quote.bidSize };
    for (const working of orders.values()) {
      this.work(working, tick.last, working.order.side === 'buy' ? buy : sell, tick.ts);
      if (working.leaves === 0) this.unrest(working);
    }
  }

  /** Matches a newly submitted order against the touch now; rests what a day/gtc order has left. */
  private match(working: Working): void {
    const now = this.deps.clock.now();
    const { order } = working;
    const quote = this.deps.book.get(order.instrumentId)!;
    const touch = { buy: { price: quote.ask, size: quote.askSize }, sell: { price: quote.bid, size: quote.bidSize } }[order.side];
    if (order.timeInForce === 'fok' && this.executable(working, quote.last, touch) < working.leaves) {
      this.report(working, { kind: 'closed', status: 'cancelled', ts: now });
      return;
    }
    this.work(working, quote.last, touch, now);
    if (working.leaves === 0) return;
    if (order.timeInForce === 'ioc' || order.timeInForce === 'fok') {
      this.report(working, { kind: 'closed', status: 'cancelled', ts: now });
      return;
    }
    this.rest(working, now);
  }

  private scheduleMatch(): NonNullable<PaperBroker['matching']> {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const immediate = setImmediate(() => {
      // Orders submitted while these match wait for the next turn, as they would at a venue.
      const batch = [...this.pending.values()];
      this.pending.clear();
      this.matching = undefined;
      try {
        for (const working of batch) this.match(working);
      } finally {
        resolve();
      }
    });
    return { immediate, done, resolve };
  }

  private rest(working: Working, now: number): void {
    const { order } = working;
    let orders = this.resting.get(order.instrumentId);
    if (!orders) this.resting.set(order.instrumentId, (orders = new Map()));
    orders.set(order.id, working);
    if (order.timeInForce === 'day') this.expiries.set(working, this.deps.marketClock.sessionEnd(order.createdAt) ?? now);
  }

  private unrest(working: Working): void {
    this.resting.get(working.order.instrumentId)?.delete(working.order.id);
    this.expiries.delete(working);
  }

  /** Triggers and fills what the touch allows; consumes the touch's size. */
  private work(working: Working, last: number, touch: Touch, ts: number): void {
    const { order } = working;
    if ((order.type === 'stop' || order.type === 'stop_limit') && !working.triggered) {
      if (!this.touched(order, last)) return;
      working.triggered = true;
      this.report(working, { kind: 'triggered', ts });
    }
    const quantity = this.executable(working, last, touch);
    if (quantity === 0) return;
    touch.size -= quantity;
    working.leaves -= quantity;
    this.report(working, { kind: 'fill', quantity, price: touch.price, ts });
  }

  private touched(order: Readonly<Order>, last: number): boolean {
    return order.side === 'buy' ? last >= order.stopPrice! : last <= order.stopPrice!;
  }

  /** Shares that would fill now: limited by the limit price, the touch size, the account's cash, whole lots. */
  private executable(working: Working, last: number, touch: Touch): number {
    const { order } = working;
    const stopped = order.type === 'stop' || order.type === 'stop_limit';
    if (stopped && !working.triggered && !this.touched(order, last)) return 0;
    if (order.limitPrice !== null && (order.side === 'buy' ? touch.price > order.limitPrice : touch.price < order.limitPrice)) return 0;
    const lot = this.deps.lotSize(order.instrumentId);
    const wanted = Math.min(working.leaves, touch.size, this.client!.affordable(order, touch.price));
    return Math.max(0, wanted - (wanted % lot));
  }

  private report(working: Working, report: ReportBody): void {
    this.client!.report({ ...report, accountId: working.order.accountId, orderId: working.order.id } as ExecutionReport);
  }
}
