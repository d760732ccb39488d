/**
 * The trading engine: pre-trade risk, routing to the broker, fills into the portfolio, group-committed
 * durability, events. All account state lives in memory and is mutated only in synchronous steps on
 * the event loop (check-then-apply can never interleave), with commands for one account serialized
 * by its lane. A command's rows go to the Journal; its caller is answered only after they commit.
 *
 * Two queued entry points, as in Nautilus Trader: commands (place, cancel, configure, read) queue in
 * their account's lane; execution reports from the broker queue in the inbox (`report`). A report
 * sent while the engine is inside a step of its own — a paper broker filling during `submit` — is
 * applied when that step ends, in the same synchronous run (so an immediate fill still commits with
 * its order); one sent later (a broker that fills on another tick) is applied at once. The engine
 * calls its broker only inside a step, so the broker never re-enters it.
 *
 * Failure semantics: when a batch fails to commit, every batch not yet committed fails with it (their
 * rows were computed from state that never became durable) and the engine halts: new commands answer
 * 503 while it rebuilds all state from the database, retrying until the database answers. An order
 * answered 503 may or may not have committed (the COMMIT's outcome can be unknown); a retry with the
 * same clientOrderId returns it if it did.
 *
 * Ownership: the engine holds only the accounts of the shards this instance owns (ShardOwnership
 * calls it as shards come and go), and every row it journals is fenced by the shard's lease at the
 * epoch it loaded the shard under. A fenced batch (another instance took the shard) halts the engine
 * like any failed commit; its recovery first re-checks ownership, so lost shards are dropped, not reloaded.
 */
import { ConstantBackoff, handleWhen, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { TachyonConfig } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { MessageBus } from '../kernel/bus.ts';
import type { ShardListener, ShardOwnership } from '../cluster/shard-ownership.ts';
import type { Clock } from '../kernel/clock.ts';
import { AccountMovingError, ConflictError, NotFoundError, ServiceUnavailableError, UnprocessableError, unprocessable } from '../kernel/errors.ts';
import { fromUnits } from '../kernel/money.ts';
import type { StoredInstrument } from '../market-data/instrument-store.ts';
import type { MarketData } from '../market-data/service.ts';
import { AccountState, type WorkingOrder } from './account.ts';
import type { Broker, BrokerClient, ExecutionReport } from './broker.ts';
import { toOrderDto, type FillEvent, type OrderEvent, type OrderEventType, type PortfolioEvent } from './dto.ts';
import { IdAllocator } from './ids.ts';
import { ENGINE_STATES, type EngineState } from './engine-state.ts';
import { FencedError, Journal, type JournalMetrics } from './journal.ts';
import { Lanes } from './lanes.ts';
import { resolveLimits, type RiskLimits } from './limits.ts';
import { OrderCounts } from './order-counts.ts';
import { close, fill, isOpen, remaining, samePayload, type Order, type OrderRequest } from './order.ts';
import { applyFill } from './position.ts';
import { checkOrder, referencePrice, type RejectCode } from './risk.ts';
import type { SharedOrderRate } from './shared-order-rate.ts';
import { TradingStore, type AccountRow, type AccountScope, type CashTransaction, type OrderFilter, type Page, type PositionRow, type Snapshot } from './store.ts';

/** Ids one command may need (order, executions, cash transactions), taken before it mutates anything. */
const ID_HEADROOM = 64;
const RECOVERY_RETRY_MS = 1_000;

export interface TradingEngineDeps {
  db: Database;
  bus: MessageBus;
  clock: Clock;
  logger: Logger;
  marketData: MarketData;
  broker: Broker;
  ownership: ShardOwnership;
  /** With REDIS_URL: the per-account order rate shared by every instance (else each account's own bucket). */
  orderRate?: SharedOrderRate;
  config: TachyonConfig['trading'];
}

export interface PlaceResult {
  /** The order as it stood when its command completed (after risk checks and immediate fills). */
  order: Order;
  replayed: boolean;
}

/** The 422 of an order the risk checks rejected, with the code and message recorded on it. */
function rejectionOf(order: Order): UnprocessableError {
  return new UnprocessableError(order.rejectReason as RejectCode, order.rejectMessage!, { orderId: order.id });
}

export interface TradingMetrics {
  engine: { state: { byState: Record<EngineState, number> }; halts: number };
  journal: JournalMetrics;
}

export class TradingEngine implements BrokerClient, ShardListener {
  /** The engine's database: every SQL statement of the trading core is there (writes of trades go through the journal). */
  private readonly store: TradingStore;
  readonly journal: Journal;
  readonly counts = new OrderCounts();
  private readonly accounts = new Map<number, AccountState>();
  /** Shards whose accounts are in memory, with the lease epoch they were loaded under (the journal's fence). */
  private readonly loaded = new Map<number, number>();
  /**
   * Shards being handed back: no command starts on their accounts (`account_moving`, nothing done), so
   * nothing is journaled after the hand-back's last commit, which a new owner's takeover would fence.
   */
  private readonly leaving = new Set<number>();
  private readonly lanes = new Lanes();
  private readonly ids: IdAllocator;
  private readonly defaults: RiskLimits;
  private state: EngineState = 'active';
  /** Commit failures that halted the engine. */
  private halts = 0;
  /** Rebuild attempts after a halt, a second apart until the database answers; a stop ends them. */
  private readonly recovery = retry(handleWhen(() => this.state === 'halted'), { backoff: new ConstantBackoff(RECOVERY_RETRY_MS) });
  /** Each account's day-open equity (`dayOpenEquity`), forgotten whenever snapshots are written. */
  private readonly dayOpen = new Map<number, { dayStart: number; equity: number | undefined }>();
  private snapshotGeneration = 0;
  /** Execution reports waiting for the engine's current step to end. */
  private readonly inbox: ExecutionReport[] = [];
  private stepping = false;

  private constructor(private readonly deps: TradingEngineDeps) {
    this.defaults = {
      maxOrderNotional: deps.config.maxOrderNotional,
      maxPositionQuantity: deps.config.maxPositionQuantity,
      collarBps: deps.config.collarBps,
      maxOrdersPerSecond: deps.config.maxOrdersPerSecond,
    };
    this.ids = new IdAllocator(deps.db);
    this.store = new TradingStore(deps.db, (id) => deps.marketData.book.symbolOf(id) ?? String(id));
    this.journal = new Journal(deps.db, {
      maxBatchRows: deps.config.commitMaxBatchRows,
      maxWaitMs: deps.config.commitMaxWaitMs,
      onFailure: (error) => this.halt(error),
      fence: {
        holder: deps.ownership.holder,
        lease: (accountId) => deps.ownership.leaseOf(deps.ownership.shardOf(accountId)),
        epoch: (accountId) => this.loaded.get(deps.ownership.shardOf(accountId)) ?? -1,
      },
    });
    deps.broker.connect(this);
  }

  /**
   * Builds the engine; it holds no account until the platform starts `ownership`, which loads the
   * shards it takes (accounts, positions, open orders) through this engine.
   */
  static async create(deps: TradingEngineDeps): Promise<TradingEngine> {
    const engine = new TradingEngine(deps);
    await engine.ids.ready(ID_HEADROOM);
    deps.ownership.setListener(engine);
    return engine;
  }

  get running(): boolean {
    return this.state === 'active';
  }

  /** Graceful stop: no new commands, queued ones finish, everything recorded commits. */
  async stop(): Promise<void> {
    this.setState('stopped');
    this.deps.broker.stop();
    await this.lanes.idle();
    await this.journal.drain();
  }

  /** Rebuilds all in-memory state from the database once queued commands and writes are done. */
  async reload(): Promise<void> {
    this.assertRunning();
    this.setState('recovering');
    await this.lanes.idle();
    await this.journal.drain();
    try {
      await this.rebuild();
      this.setState('active');
    } catch (error) {
      // Half-loaded state must not trade: fall back to the retrying recovery.
      this.setState('active');
      this.halt(error);
      throw error;
    }
  }

  // ---- commands -------------------------------------------------------------------------------

  async place(accountId: number, request: OrderRequest): Promise<PlaceResult> {
    this.assertRunning();
    const instrument = this.deps.marketData.findInstrument(request.symbol);
    if (!instrument) throw unprocessable('unknown_symbol', { symbol: request.symbol }, { symbol: request.symbol });
    const normalized = { ...request, symbol: instrument.symbol };
    const outcome = await this.lanes.run<{ original: Order } | { order: Order; durable: Promise<void> }>(accountId, async () => {
      const account = await this.account(accountId);
      if (normalized.clientOrderId !== null) {
        const original = await this.clientOrder(account, normalized.clientOrderId);
        if (original) return { original };
      }
      if (this.ids.available() < ID_HEADROOM) await this.ids.ready(ID_HEADROOM);
      // After the replay check: a replayed clientOrderId costs no token.
      const sharedRate = await this.deps.orderRate?.take(accountId, account.limits.maxOrdersPerSecond, this.deps.clock.now());
      this.assertRunning();
      const order = this.step(() => this.accept(account, instrument, normalized, sharedRate));
      return { order: { ...order }, durable: this.journal.durable() };
    });
    if ('original' in outcome) return this.replay(outcome.original, normalized);
    await this.confirmed(outcome.durable, accountId);
    const { order } = outcome;
    if (order.status === 'rejected') throw rejectionOf(order);
    return { order, replayed: false };
  }

  /** Cancels an open order of one of these accounts; 404 for anyone else's, 409 once it has ended. */
  async cancel(accountIds: readonly number[], orderId: number): Promise<Order> {
    this.assertRunning();
    const accountId = accountIds.find((id) => this.accounts.get(id)?.open.has(orderId));
    if (accountId === undefined) throw await this.notCancellable(accountIds, orderId);
    const outcome = await this.lanes.run(accountId, () => {
      this.assertRunning();
      const account = this.accounts.get(accountId);
      // Handed back since the look above: the new owner cancels it.
      if (!account || this.leaving.has(this.deps.ownership.shardOf(accountId))) throw new AccountMovingError(accountId);
      const working = account.open.get(orderId);
      if (!working || !this.step(() => this.deps.broker.cancel(working.order))) return undefined;
      this.end(account, working, 'cancelled', this.deps.clock.now());
      return { order: { ...working.order }, durable: this.journal.durable() };
    });
    if (!outcome) throw await this.notCancellable(accountIds, orderId);
    await this.confirmed(outcome.durable, accountId);
    return outcome.order;
  }

  /** Replaces an account's limit overrides and short permission (admin), effective for its next order. */
  async configureAccount(accountId: number, settings: { limits: Record<string, number>; allowShort: boolean }): Promise<{ limits: RiskLimits; allowShort: boolean }> {
    this.assertRunning();
    return this.lanes.run(accountId, async () => {
      const account = await this.account(accountId);
      await this.store.configureAccount(accountId, settings);
      account.limits = resolveLimits(this.defaults, settings.limits);
      account.allowShort = settings.allowShort;
      return { limits: account.limits, allowShort: account.allowShort };
    });
  }

  /** The in-memory state of an account (loading it on first use), read in its lane. */
  async read<T>(accountId: number, fn: (account: AccountState) => T): Promise<T> {
    this.assertRunning();
    return this.lanes.run(accountId, async () => fn(await this.account(accountId)));
  }

  // ---- committed state (the database, through the store) ----------------------------------------

  /** An account's orders, newest first (cursor pagination). */
  orders(accountId: number, filter: OrderFilter): Promise<Page<Order>> {
    return this.store.orders(accountId, filter);
  }

  /** An order of one of these accounts; undefined (a 404) for anyone else's. */
  order(orderId: number, accountIds: readonly number[]): Promise<Order | undefined> {
    return this.store.order(orderId, accountIds);
  }

  transactions(accountId: number, limit: number, cursor?: string): Promise<Page<CashTransaction>> {
    return this.store.transactions(accountId, limit, cursor);
  }

  /** Equity snapshots in [from, to), oldest first. */
  snapshots(accountId: number, from: number, to: number, limit: number): Promise<Snapshot[]> {
    return this.store.snapshots(accountId, from, to, limit);
  }

  /**
   * An account's equity at the start of the day (the last snapshot at or before `dayStart`; undefined
   * before the first): the reference for every portfolio read's day change. Remembered until a
   * snapshot is written, so a portfolio read does not wait on the database.
   */
  async dayOpenEquity(accountId: number, dayStart: number): Promise<number | undefined> {
    const known = this.dayOpen.get(accountId);
    if (known?.dayStart === dayStart) return known.equity;
    const generation = this.snapshotGeneration;
    const equity = (await this.store.snapshotAt(accountId, dayStart))?.equity;
    // A snapshot written while this read was in flight may be the newer reference: not remembered.
    if (generation === this.snapshotGeneration) this.dayOpen.set(accountId, { dayStart, equity });
    return equity;
  }

  async writeSnapshots(ts: number, rows: readonly { accountId: number; equity: number; cash: number }[]): Promise<void> {
    try {
      await this.store.writeSnapshots(ts, rows);
    } finally {
      this.snapshotGeneration++;
      this.dayOpen.clear();
    }
  }

  /** What the owner of an account committed: its cash, positions and open orders (an account held elsewhere). */
  async committedAccount(accountId: number): Promise<{ cash: number; positions: PositionRow[]; openOrders: Order[] } | undefined> {
    const scope = { ids: [accountId] };
    const [account] = await this.store.accounts(scope);
    if (!account) return undefined;
    const [positions, openOrders] = await Promise.all([this.store.positions(scope), this.store.openOrders(scope)]);
    return { cash: account.cash, positions, openOrders };
  }

  lastPrice(instrumentId: number): number {
    return this.deps.marketData.book.last(instrumentId);
  }

  /** Whether this instance holds the account's shard with its accounts loaded (reads may use memory). */
  owns(accountId: number): boolean {
    const shard = this.deps.ownership.shardOf(accountId);
    return this.loaded.has(shard) && this.deps.ownership.epochOf(shard) === this.loaded.get(shard);
  }

  /** Every account in memory: only owned shards' (the equity snapshotter walks them). */
  loadedAccounts(): Iterable<AccountState> {
    return this.accounts.values();
  }

  // ---- account shards (ShardListener) ----------------------------------------------------------

  async shardsAcquired(shards: ReadonlyMap<number, number>): Promise<void> {
    const stale = [...shards].filter(([shard, epoch]) => this.loaded.has(shard) && this.loaded.get(shard) !== epoch).map(([shard]) => shard);
    await this.shardsLost(stale);
    if (this.state !== 'active') return; // recovery loads the held shards itself
    const fresh = [...shards.keys()].filter((shard) => !this.loaded.has(shard));
    if (fresh.length === 0) return;
    await this.load({ shards: fresh, shardCount: this.deps.ownership.shardCount });
    for (const shard of fresh) this.loaded.set(shard, shards.get(shard)!);
  }

  async shardsLost(shards: readonly number[]): Promise<void> {
    if (shards.length === 0) return;
    const gone = new Set(shards);
    for (const shard of shards) this.leaving.add(shard);
    const inGone = () => new Set([...this.accounts.keys()].filter((id) => gone.has(this.deps.ownership.shardOf(id))));
    try {
      // Commands already in these accounts' lanes finish under the epoch they were loaded under; later ones are refused.
      await this.lanes.settled(inGone());
      const ids = inGone();
      for (const id of ids) {
        this.accounts.delete(id);
        this.dayOpen.delete(id);
      }
      for (const shard of shards) this.loaded.delete(shard);
      this.step(() => this.deps.broker.forget(ids));
      // Everything journaled for them (fills included) commits before the caller lets the lease go.
      await this.journal.durable().catch(() => {});
    } finally {
      for (const shard of shards) this.leaving.delete(shard);
    }
  }

  busy(shard: number): boolean {
    for (const id of this.accounts.keys()) if (this.deps.ownership.shardOf(id) === shard) return true;
    return false;
  }

  // ---- execution reports (BrokerClient) --------------------------------------------------------

  report(report: ExecutionReport): void {
    this.inbox.push(report);
    if (!this.stepping) this.step(() => {});
  }

  /**
   * Runs one synchronous step of the engine's own (every call into the broker is one), then applies
   * the reports that arrived meanwhile, in order. Steps do not nest: reports sent while reports are
   * applied join the queue.
   */
  private step<T>(fn: () => T): T {
    this.stepping = true;
    try {
      return fn();
    } finally {
      try {
        for (let report = this.inbox.shift(); report; report = this.inbox.shift()) this.apply(report);
      } finally {
        this.stepping = false;
      }
    }
  }

  private apply(report: ExecutionReport): void {
    if (this.state !== 'active') return;
    const account = this.accounts.get(report.accountId);
    const working = account?.open.get(report.orderId);
    if (!account || !working) return;
    if (report.kind === 'fill') this.filled(account, working, report.quantity, report.price, report.ts);
    else if (report.kind === 'closed') this.end(account, working, report.status, report.ts);
    else {
      working.order.triggered = true;
      working.order.updatedAt = report.ts;
      this.journal.order(working.order);
    }
  }

  private filled(account: AccountState, working: WorkingOrder, quantity: number, price: number, ts: number): void {
    const { order } = working;
    const executionId = this.ids.next();
    const cashId = this.ids.next();
    fill(order, quantity, price, ts);
    account.consume(working, quantity);
    const holding = account.holding(order.instrumentId);
    applyFill(holding, order.side, quantity, price);
    account.cash += order.side === 'buy' ? -quantity * price : quantity * price;
    const journal = this.journal;
    journal.execution({ id: executionId, orderId: order.id, accountId: account.id, instrumentId: order.instrumentId, side: order.side, quantity, price, ts });
    journal.cash({ id: cashId, accountId: account.id, amount: order.side === 'buy' ? -quantity * price : quantity * price, balanceAfter: account.cash, refId: executionId, ts });
    journal.position(account.id, order.instrumentId, holding, ts);
    journal.account(account.id, account.cash);
    journal.order(order);
    if (!isOpen(order)) account.release(working);
    this.emitOrder(order, order.status === 'filled' ? 'filled' : 'partially_filled');
    const fillEvent: FillEvent = { executionId, orderId: order.id, accountId: account.id, symbol: order.symbol, side: order.side, quantity, price: fromUnits(price), ts };
    const portfolioEvent: PortfolioEvent = {
      accountId: account.id,
      cash: fromUnits(account.cash),
      symbol: order.symbol,
      quantity: holding.quantity,
      averagePrice: holding.quantity === 0 ? null : fromUnits(Math.round(holding.costBasis / holding.quantity)),
      realizedPnl: fromUnits(holding.realizedPnl),
      ts,
    };
    journal.afterCommit(() => {
      this.deps.bus.publish(`fill.${account.id}`, fillEvent);
      this.deps.bus.publish(`portfolio.${account.id}`, portfolioEvent);
    });
  }

  affordable(order: Pick<Order, 'id' | 'accountId' | 'side'>, price: number): number {
    if (order.side === 'sell') return Number.MAX_SAFE_INTEGER;
    const account = this.accounts.get(order.accountId);
    const working = account?.open.get(order.id);
    if (!account || !working) return 0;
    const own = working.reservation.cashQuantity * working.reservation.price;
    return Math.max(0, Math.floor((account.buyingPower((id) => this.lastPrice(id)) + own) / price));
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Risk checks, reservation, routing: one synchronous step. */
  private accept(account: AccountState, instrument: StoredInstrument, request: OrderRequest, sharedRate: boolean | undefined): Order {
    const { book, marketClock } = this.deps.marketData;
    const now = this.deps.clock.now();
    const quote = book.get(instrument.id)!;
    const market = { bid: quote.bid, ask: quote.ask, last: quote.last, sessionOpen: marketClock.isOpen(now) };
    const decision = checkOrder(account, request, instrument, market, now, (id) => this.lastPrice(id), sharedRate);
    // An account over its rate is refused before it costs an order row: the rate limit protects the journal too.
    if (!decision.ok && decision.rejection.code === 'order_rate_exceeded') {
      this.counts.rejected(decision.rejection.code);
      throw new UnprocessableError(decision.rejection.code, decision.rejection.message);
    }
    const order: Order = {
      id: this.ids.next(),
      accountId: account.id,
      clientOrderId: request.clientOrderId,
      instrumentId: instrument.id,
      symbol: instrument.symbol,
      side: request.side,
      type: request.type,
      timeInForce: request.timeInForce,
      quantity: request.quantity,
      limitPrice: request.limitPrice,
      stopPrice: request.stopPrice,
      status: decision.ok ? 'accepted' : 'rejected',
      filledQuantity: 0,
      filledNotional: 0,
      rejectReason: decision.ok ? null : decision.rejection.code,
      rejectMessage: decision.ok ? null : decision.rejection.message,
      triggered: false,
      createdAt: now,
      updatedAt: now,
    };
    // Recorded first: a row the database would refuse fails this command alone, before any state changes.
    this.journal.order(order);
    if (order.clientOrderId !== null) account.rememberClientId(order.clientOrderId, order.id);
    if (!decision.ok) {
      this.emitOrder(order, 'rejected');
      return order;
    }
    account.reserve({ order, reservation: decision.reservation });
    this.emitOrder(order, 'accepted');
    this.deps.broker.submit(order);
    return order;
  }

  private end(account: AccountState, working: WorkingOrder, status: 'cancelled' | 'expired', ts: number): void {
    close(working.order, status, ts);
    account.release(working);
    this.journal.order(working.order);
    this.emitOrder(working.order, status);
  }

  /** Publishes after commit, with the order as it is now (a copy: the order changes on). */
  private emitOrder(order: Order, type: OrderEventType): void {
    const event: OrderEvent = { type, order: toOrderDto(order) };
    this.journal.afterCommit(() => {
      this.counts.event(type, order.rejectReason);
      this.deps.bus.publish(`order.${order.accountId}`, event);
    });
  }

  private replay(original: Order, request: OrderRequest): PlaceResult {
    if (!samePayload(original, request)) {
      throw new ConflictError(`clientOrderId ${request.clientOrderId} was already used for a different order (${original.id})`, { orderId: original.id });
    }
    if (original.status === 'rejected') throw rejectionOf(original);
    return { order: original, replayed: true };
  }

  /** The order an account already placed under this client id, as committed. */
  private async clientOrder(account: AccountState, clientOrderId: string): Promise<Order | undefined> {
    const known = account.clientOrder(clientOrderId);
    if (known === undefined && !account.clientIdsIncomplete) return undefined;
    // The original may still be committing: wait for it, then read what is durable.
    await this.confirmed(this.journal.durable(), account.id);
    return this.store.orderByClientId(account.id, clientOrderId);
  }

  private async notCancellable(accountIds: readonly number[], orderId: number): Promise<Error> {
    await this.journal.durable().catch(() => {});
    const order = await this.store.order(orderId, accountIds);
    if (!order) return new NotFoundError(`order ${orderId} not found`);
    // Open but not here: its account moved to another instance after the route looked (retry finds the owner).
    if (isOpen(order) && !this.owns(order.accountId)) return new AccountMovingError(order.accountId);
    return new ConflictError(`order ${orderId} is ${order.status} and can no longer be cancelled`, { status: order.status });
  }

  private async confirmed(durable: Promise<void>, accountId: number): Promise<void> {
    try {
      await durable;
    } catch (error) {
      // A fenced batch wrote nothing (another instance holds the shard now): the route may ask the owner.
      if (error instanceof FencedError) throw new AccountMovingError(accountId);
      throw new ServiceUnavailableError('the order could not be confirmed: the database commit failed; retry with the same clientOrderId');
    }
  }

  private assertRunning(): void {
    if (this.state !== 'active') {
      throw new ServiceUnavailableError(this.state === 'stopped' ? 'trading is shutting down' : 'trading is recovering from a database failure; retry shortly');
    }
  }

  private async account(id: number): Promise<AccountState> {
    if (this.leaving.has(this.deps.ownership.shardOf(id))) throw new AccountMovingError(id);
    const loaded = this.accounts.get(id);
    if (loaded) return loaded;
    const { ownership } = this.deps;
    const shard = ownership.shardOf(id);
    if (!this.loaded.has(shard)) {
      // Routes forward other instances' accounts; this takes a shard nobody holds, or refuses.
      const owner = await ownership.owner(id);
      const epoch = ownership.epochOf(shard);
      if (!owner.local || epoch === undefined) throw new AccountMovingError(id);
      if (!this.loaded.has(shard)) await this.shardsAcquired(new Map([[shard, epoch]]));
      const again = this.accounts.get(id);
      if (again) return again;
    }
    await this.load({ ids: [id] });
    const account = this.accounts.get(id);
    if (!account) throw new NotFoundError(`account ${id} not found`);
    return account;
  }

  /** Commit failed: refuse commands, let queued ones drain, rebuild from the database. */
  private halt(error: unknown): void {
    if (this.state !== 'active') return;
    this.halts++;
    this.setState('halted', error);
    this.deps.logger.error({ err: error }, 'trading journal commit failed: halting and rebuilding state from the database');
    void (async () => {
      await this.lanes.idle();
      // Gives up only once the engine stopped (a failed attempt leaves it halted, which is retried).
      await this.recovery.execute(() => this.recover(error)).catch(() => {});
    })();
  }

  /** One rebuild attempt after a halt: active again, or halted with the attempt's error. */
  private async recover(cause: unknown): Promise<void> {
    // A stop wins over recovery: the engine stays stopped.
    if (this.state !== 'halted') return;
    this.setState('recovering');
    try {
      // Fenced: another instance took a shard; learn which before reloading, so it is dropped, not reloaded.
      if (cause instanceof FencedError) await this.deps.ownership.refresh();
      await this.rebuild();
    } catch (error) {
      if ((this.state as EngineState) === 'recovering') {
        this.setState('halted', error);
        this.deps.logger.warn({ err: error }, 'trading recovery failed; retrying');
      }
      throw error;
    }
    if ((this.state as EngineState) !== 'recovering') return;
    this.setState('active');
    this.deps.logger.info('trading state rebuilt from the database; accepting orders again');
  }

  /** Records and announces a state change (the metric reads `state`; the event tells subscribers at once). */
  private setState(next: EngineState, cause?: unknown): void {
    const previous = this.state;
    if (previous === next) return;
    this.state = next;
    const reason = cause === undefined ? null : cause instanceof Error ? cause.message : String(cause);
    this.deps.bus.publish('trading.engine.state', { state: next, previous, reason, ts: this.deps.clock.now() });
  }

  /** The engine's and its journal's figures for the metrics collector (`tachyon_trading_*`). */
  metrics(): TradingMetrics {
    const state = Object.fromEntries(ENGINE_STATES.map((s) => [s, s === this.state ? 1 : 0])) as Record<EngineState, number>;
    return { engine: { state: { byState: state }, halts: this.halts }, journal: this.journal.metrics() };
  }

  /** Reloads every held shard's accounts. */
  private async rebuild(): Promise<void> {
    await this.ids.ready(ID_HEADROOM);
    this.accounts.clear();
    this.dayOpen.clear();
    this.loaded.clear();
    this.step(() => this.deps.broker.reset());
    const held = this.deps.ownership.heldShards();
    await this.load({ shards: [...held.keys()], shardCount: this.deps.ownership.shardCount });
    for (const [shard, epoch] of held) this.loaded.set(shard, epoch);
  }

  /** Loads accounts with positions and open orders, re-reserving what the orders hold. */
  private async load(scope: AccountScope): Promise<void> {
    const accounts = await this.store.accounts(scope);
    const positions = await this.store.positions(scope);
    const open = await this.store.openOrders(scope);
    const now = this.deps.clock.now();
    for (const row of accounts) this.accounts.set(row.id, this.toAccount(row, now));
    for (const p of positions) Object.assign(this.accounts.get(p.accountId)!.holding(p.instrumentId), { quantity: p.quantity, costBasis: p.costBasis, realizedPnl: p.realizedPnl });
    this.step(() => {
      for (const order of open) this.restore(this.accounts.get(order.accountId)!, order);
    });
  }

  private toAccount(row: AccountRow, now: number): AccountState {
    return new AccountState(row.id, row.opening_cash, row.cash, row.allow_short, resolveLimits(this.defaults, row.limits), row.has_client_ids, now);
  }

  /** Re-reserves an open order exactly as acceptance would have, without re-checking it. */
  private restore(account: AccountState, order: Order): void {
    const quote = this.deps.marketData.book.get(order.instrumentId)!;
    const price = referencePrice(order, { bid: quote.bid, ask: quote.ask, last: quote.last, sessionOpen: true }, account.limits.collarBps);
    const left = remaining(order);
    const holding = account.holding(order.instrumentId);
    const heldQuantity = order.side === 'sell' ? Math.min(left, Math.max(0, Math.max(0, holding.quantity) - holding.openSell)) : 0;
    account.reserve({ order, reservation: { price, cashQuantity: left - heldQuantity, heldQuantity } });
    this.deps.broker.restore(order);
  }
}
