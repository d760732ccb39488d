/**
 * Group commit. Engines record the rows a command changes (order snapshots, executions, cash
 * transactions, positions, account cash) and get the promise of the batch they landed in. One batch
 * is in flight at a time; while it commits the next one gathers, so batches grow with load and the
 * database sees one statement per batch instead of one transaction per order. The statement is a
 * chain of data-modifying CTEs over `unnest` arrays: one round trip, one implicit transaction, on
 * both engines. Batches commit in order, so a later batch's promise also covers earlier rows.
 *
 * Rows are copied when recorded, never read back from live objects at flush time: a batch holds
 * exactly the state its commands produced, even if later commands change the same order meanwhile.
 * Within a batch the last copy of an order, position or account wins.
 *
 * One bad row must not fail a batch (and halt the engine for every account): an order row is
 * checked against its columns when recorded, and one the database would refuse is refused there,
 * as that command's 422, before anything is recorded. Other rows derive from checked orders and
 * market prices; a batch that still fails is a database failure, and the owner rebuilds.
 *
 * Fencing: every row names its account, and the batch notes the shard lease of each account it
 * touches with the epoch the engine loaded that shard under. The statement's first CTE locks those
 * lease rows and checks this instance still holds each at that epoch; every write is conditioned on
 * it, so a former owner (paused, partitioned) writes nothing and the batch fails with FencedError.
 */
import { performance } from 'node:perf_hooks';
import type { Queryable, StatementOptions } from '../db/database.ts';
import { MonthPartitions, type PartitionedTable } from '../db/partitions.ts';
import { createHistogram, percentileMs, recordMs, type Histogram } from '../kernel/histogram.ts';
import { ServiceUnavailableError, unprocessable } from '../kernel/errors.ts';
import { isBigint, isInt4, textIssue } from '../kernel/storable.ts';
import { inTimeRange } from '../kernel/time-range.ts';
import type { Order } from './order.ts';
import type { Position } from './position.ts';

export interface ExecutionRow {
  id: number;
  orderId: number;
  accountId: number;
  instrumentId: number;
  side: 'buy' | 'sell';
  quantity: number;
  price: number;
  ts: number;
}

export interface CashRow {
  id: number;
  accountId: number;
  amount: number;
  balanceAfter: number;
  refId: number;
  ts: number;
}

type OrderRow = Omit<Order, 'symbol'>;
type PositionRow = Position & { accountId: number; instrumentId: number; ts: number };

/** Which shard lease an account's rows are fenced by, and the epoch its state was loaded under. */
export interface JournalFence {
  holder: string;
  lease(accountId: number): string;
  /** -1 when the account's shard is not loaded (such rows can never commit). */
  epoch(accountId: number): number;
}

/** A batch was refused because this instance no longer holds an account's shard at the epoch it loaded it under. */
export class FencedError extends ServiceUnavailableError {
  constructor() {
    super('this instance no longer owns the account: the write was refused (fenced); retry with the same clientOrderId');
  }
}

class Batch {
  /** Shard lease name -> epoch, for every account the batch touches. */
  readonly fences = new Map<string, number>();
  readonly orders = new Map<number, OrderRow>();
  readonly executions: ExecutionRow[] = [];
  readonly cash: CashRow[] = [];
  readonly positions = new Map<string, PositionRow>();
  readonly accounts = new Map<number, number>();
  readonly afterCommit: (() => void)[] = [];
  size = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A batch nobody awaits (fills from ticks) must not surface as an unhandled rejection.
    this.done.catch(() => {});
  }
}

export interface JournalOptions {
  /** Flush at once when this many rows are waiting (otherwise on the next turn of the event loop). */
  maxBatchRows: number;
  /** How long an idle journal waits for more rows before flushing; 0 flushes on the next turn. */
  maxWaitMs: number;
  /** Called once per failed flush, after both batches were rejected; the engine rebuilds from the database. */
  onFailure: (error: unknown) => void;
  fence: JournalFence;
}

export interface JournalStats {
  batches: number;
  rows: number;
  /** Failed batches, fenced ones included. */
  failures: number;
  /** Batches refused because this instance no longer held a shard (FencedError). */
  fencedBatches: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** Since the journal started: counters, and percentiles over every committed batch. */
export interface JournalMetrics extends JournalStats {
  batchRows: Percentiles;
  commitSeconds: Percentiles;
}

export class Journal {
  private pending = new Batch();
  private inFlight: Batch | undefined;
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly stats: JournalStats = { batches: 0, rows: 0, failures: 0, fencedBatches: 0 };
  /** Rows per committed batch, and the commit's round trip (µs): one record per batch, off the per-order path. */
  private readonly batchRows: Histogram = createHistogram();
  private readonly commitLatency: Histogram = createHistogram();
  private readonly partitions: MonthPartitions;

  constructor(
    private readonly db: Queryable,
    private readonly options: JournalOptions,
  ) {
    this.partitions = new MonthPartitions(db);
  }

  /** Records an order's row; throws (recording nothing) when a value could not be stored. */
  order(order: Order): void {
    const field = unstorableField(order);
    if (field !== undefined) {
      throw unprocessable('unstorable_value', { field }, { field, orderId: order.id });
    }
    this.fenced(order.accountId);
    const { symbol: _symbol, ...row } = order;
    this.pending.orders.set(order.id, row);
    this.added();
  }

  execution(row: ExecutionRow): void {
    this.fenced(row.accountId);
    this.pending.executions.push(row);
    this.added();
  }

  cash(row: CashRow): void {
    this.fenced(row.accountId);
    this.pending.cash.push(row);
    this.added();
  }

  position(accountId: number, instrumentId: number, position: Position, ts: number): void {
    this.fenced(accountId);
    const { quantity, costBasis, realizedPnl } = position;
    this.pending.positions.set(`${accountId}:${instrumentId}`, { accountId, instrumentId, quantity, costBasis, realizedPnl, ts });
    this.added();
  }

  account(accountId: number, cash: number): void {
    this.fenced(accountId);
    this.pending.accounts.set(accountId, cash);
    this.added();
  }

  /** Runs `fn` once the current batch has committed (events that must never announce lost state). */
  afterCommit(fn: () => void): void {
    this.pending.afterCommit.push(fn);
  }

  /** Resolves when everything recorded so far is committed; rejects if its batch failed. */
  durable(): Promise<void> {
    if (this.pending.size > 0) return this.pending.done;
    return this.inFlight?.done ?? Promise.resolve();
  }

  /** Waits until nothing is pending or in flight (graceful stop). */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inFlight) await this.durable().catch(() => {});
  }

  metrics(): JournalMetrics {
    const rows = this.batchRows;
    const commit = this.commitLatency;
    const empty = rows.totalCount === 0;
    return {
      ...this.stats,
      batchRows: { p50: empty ? 0 : rows.getValueAtPercentile(50), p99: empty ? 0 : rows.getValueAtPercentile(99), max: empty ? 0 : rows.maxValue },
      commitSeconds: { p50: percentileMs(commit, 50) / 1000, p99: percentileMs(commit, 99) / 1000, max: empty ? 0 : commit.maxValue / 1e6 },
    };
  }

  private fenced(accountId: number): void {
    const { fence } = this.options;
    this.pending.fences.set(fence.lease(accountId), fence.epoch(accountId));
  }

  private added(): void {
    this.pending.size++;
    if (this.inFlight) return;
    if (this.pending.size >= this.options.maxBatchRows) this.flush();
    else this.scheduled ??= this.options.maxWaitMs > 0 ? setTimeout(() => this.flush(), this.options.maxWaitMs) : setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = undefined;
    }
    if (this.inFlight || this.pending.size === 0) return;
    const batch = (this.inFlight = this.pending);
    this.pending = new Batch();
    const started = performance.now();
    this.write(batch).then(
      () => {
        this.stats.batches++;
        this.stats.rows += batch.size;
        this.batchRows.recordValue(batch.size);
        recordMs(this.commitLatency, performance.now() - started);
        this.inFlight = undefined;
        for (const fn of batch.afterCommit) fn();
        batch.resolve();
        this.flush();
      },
      (error: unknown) => {
        // Rows gathered behind a failed batch were computed from state that never became durable:
        // both batches fail, and the owner rebuilds its memory from the database.
        this.stats.failures++;
        if (error instanceof FencedError) this.stats.fencedBatches++;
        const next = this.pending;
        this.pending = new Batch();
        this.inFlight = undefined;
        batch.reject(error);
        next.reject(error);
        this.options.onFailure(error);
      },
    );
  }

  private async write(batch: Batch): Promise<void> {
    const orders = [...batch.orders.values()];
    const positions = [...batch.positions.values()];
    const col = <T, K extends keyof T>(rows: readonly T[], key: K) => rows.map((r) => r[key]);
    // The months the rows fall in (normally this month, whose partition is known: no statement).
    await this.ensureMonths('trading_orders', col(orders, 'createdAt'));
    await this.ensureMonths('trading_executions', col(batch.executions, 'ts'));
    await this.ensureMonths('trading_cash_transactions', col(batch.cash, 'ts'));
    const { rows } = await this.db.query<{ fenced: boolean }>(WRITE_BATCH, [
      col(orders, 'id'), col(orders, 'accountId'), col(orders, 'clientOrderId'), col(orders, 'instrumentId'),
      col(orders, 'side'), col(orders, 'type'), col(orders, 'timeInForce'), col(orders, 'quantity'),
      col(orders, 'limitPrice'), col(orders, 'stopPrice'), col(orders, 'status'), col(orders, 'filledQuantity'),
      col(orders, 'filledNotional'), col(orders, 'rejectReason'), col(orders, 'rejectMessage'), col(orders, 'triggered'),
      col(orders, 'createdAt'), col(orders, 'updatedAt'),
      col(batch.executions, 'id'), col(batch.executions, 'orderId'), col(batch.executions, 'accountId'), col(batch.executions, 'instrumentId'),
      col(batch.executions, 'side'), col(batch.executions, 'quantity'), col(batch.executions, 'price'), col(batch.executions, 'ts'),
      col(batch.cash, 'id'), col(batch.cash, 'accountId'), col(batch.cash, 'amount'), col(batch.cash, 'balanceAfter'),
      col(batch.cash, 'refId'), col(batch.cash, 'ts'),
      col(positions, 'accountId'), col(positions, 'instrumentId'), col(positions, 'quantity'), col(positions, 'costBasis'),
      col(positions, 'realizedPnl'), col(positions, 'ts'),
      [...batch.accounts.keys()], [...batch.accounts.values()],
      [...batch.fences.keys()], [...batch.fences.values()], this.options.fence.holder,
    ], WRITE_BATCH_OPTIONS);
    if (rows[0]?.fenced !== false) throw new FencedError();
  }

  private async ensureMonths(table: PartitionedTable, times: number[]): Promise<void> {
    if (times.length === 0) return;
    let min = Infinity;
    let max = -Infinity;
    for (const t of times) {
      if (t < min) min = t;
      if (t > max) max = t;
    }
    await this.partitions.ensure(table, min, max);
  }
}

const SIDES = new Set(['buy', 'sell']);
const TYPES = new Set(['market', 'limit', 'stop', 'stop_limit']);
const TIMES_IN_FORCE = new Set(['day', 'gtc', 'ioc', 'fok']);
const storableText = (value: string | null) => value === null || textIssue(value) === undefined;
const storablePrice = (value: number | null) => value === null || isBigint(value);

/** The first column of an order row that its column (type or CHECK) would refuse. */
function unstorableField(order: Order): string | undefined {
  if (!isBigint(order.id)) return 'id';
  if (!isBigint(order.accountId)) return 'accountId';
  if (!isInt4(order.instrumentId)) return 'instrumentId';
  if (!isBigint(order.quantity) || order.quantity <= 0) return 'quantity';
  if (!storablePrice(order.limitPrice)) return 'limitPrice';
  if (!storablePrice(order.stopPrice)) return 'stopPrice';
  if (!isBigint(order.filledQuantity)) return 'filledQuantity';
  if (!isBigint(order.filledNotional)) return 'filledNotional';
  if (!SIDES.has(order.side)) return 'side';
  if (!TYPES.has(order.type)) return 'type';
  if (!TIMES_IN_FORCE.has(order.timeInForce)) return 'timeInForce';
  if (!storableText(order.clientOrderId)) return 'clientOrderId';
  if (!storableText(order.rejectReason)) return 'rejectReason';
  if (!storableText(order.rejectMessage)) return 'rejectMessage';
  if (!inTimeRange(order.createdAt)) return 'createdAt';
  if (!inTimeRange(order.updatedAt)) return 'updatedAt';
  return undefined;
}

/**
 * Callers wait on every commit: it starts before statements queued for the embedded engine (COPY
 * slices of a history load, quote snapshots, bar writes), and stays prepared there (parsing and
 * planning this statement was most of its engine time).
 */
const WRITE_BATCH_OPTIONS: StatementOptions = { prepared: 'tachyon_journal_write_batch', urgent: true };

// Timestamps travel as epoch milliseconds (float8) and become timestamptz in SQL.
// The fence locks the lease rows it checks (FOR SHARE, in name order as every lease statement does: no
// deadlock with a renewal of the same rows): a takeover's UPDATE waits for this batch to
// commit, and a takeover that committed first is seen (the row is re-checked), so the new owner
// always loads after the old owner's last write. Every write below is conditioned on it.
const WRITE_BATCH = `
WITH f AS (
  SELECT count(*) <> cardinality($41::text[]) AS fenced FROM (
    SELECT 1 FROM cluster_leases l JOIN unnest($41::text[], $42::int8[]) AS t(name, epoch) ON l.name = t.name AND l.epoch = t.epoch
     WHERE l.holder = $43 ORDER BY l.name FOR SHARE OF l) AS held
), o AS (
  INSERT INTO trading_orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
                      status, filled_quantity, filled_notional, reject_reason, reject_message, triggered, created_at, updated_at)
  SELECT id, account_id, client_order_id, instrument_id, side, type, tif, quantity, limit_price, stop_price,
         status, filled_quantity, filled_notional, reject_reason, reject_message, triggered, to_timestamp(created / 1000.0), to_timestamp(updated / 1000.0)
    FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int4[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int8[], $10::int8[],
                $11::text[], $12::int8[], $13::int8[], $14::text[], $15::text[], $16::bool[], $17::float8[], $18::float8[])
      AS t(id, account_id, client_order_id, instrument_id, side, type, tif, quantity, limit_price, stop_price,
           status, filled_quantity, filled_notional, reject_reason, reject_message, triggered, created, updated)
   WHERE NOT (SELECT fenced FROM f)
  ON CONFLICT (id, created_at) DO UPDATE SET status = EXCLUDED.status, filled_quantity = EXCLUDED.filled_quantity,
    filled_notional = EXCLUDED.filled_notional, triggered = EXCLUDED.triggered, updated_at = EXCLUDED.updated_at
), k AS (
  INSERT INTO order_keys (id, account_id, client_order_id, created_at)
  SELECT id, account_id, client_order_id, to_timestamp(created / 1000.0)
    FROM unnest($1::int8[], $2::int8[], $3::text[], $17::float8[]) AS t(id, account_id, client_order_id, created)
   WHERE NOT (SELECT fenced FROM f)
  ON CONFLICT (id) DO NOTHING
), e AS (
  INSERT INTO trading_executions (id, order_id, account_id, instrument_id, side, quantity, price, ts)
  SELECT id, order_id, account_id, instrument_id, side, quantity, price, to_timestamp(ts / 1000.0)
    FROM unnest($19::int8[], $20::int8[], $21::int8[], $22::int4[], $23::text[], $24::int8[], $25::int8[], $26::float8[])
      AS t(id, order_id, account_id, instrument_id, side, quantity, price, ts)
   WHERE NOT (SELECT fenced FROM f)
), c AS (
  INSERT INTO trading_cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts)
  SELECT id, account_id, 'trade', amount, balance_after, ref_id, to_timestamp(ts / 1000.0)
    FROM unnest($27::int8[], $28::int8[], $29::int8[], $30::int8[], $31::int8[], $32::float8[])
      AS t(id, account_id, amount, balance_after, ref_id, ts)
   WHERE NOT (SELECT fenced FROM f)
), p AS (
  INSERT INTO positions (account_id, instrument_id, quantity, cost_basis, realized_pnl, updated_at)
  SELECT account_id, instrument_id, quantity, cost_basis, realized_pnl, to_timestamp(ts / 1000.0)
    FROM unnest($33::int8[], $34::int4[], $35::int8[], $36::int8[], $37::int8[], $38::float8[])
      AS t(account_id, instrument_id, quantity, cost_basis, realized_pnl, ts)
   WHERE NOT (SELECT fenced FROM f)
  ON CONFLICT (account_id, instrument_id) DO UPDATE SET quantity = EXCLUDED.quantity, cost_basis = EXCLUDED.cost_basis,
    realized_pnl = EXCLUDED.realized_pnl, updated_at = EXCLUDED.updated_at
), a AS (
  UPDATE accounts SET cash = u.cash FROM unnest($39::int8[], $40::int8[]) AS u(id, cash) WHERE accounts.id = u.id AND NOT (SELECT fenced FROM f)
)
SELECT fenced FROM f`;
