/**
 * The trading engine's database access: the rows recovery rebuilds memory from, the paginated
 * listings the API serves (durable state only), account settings and equity snapshots. Trades
 * (orders, executions, cash, positions) are written through the Journal.
 */
import type { Database } from '../db/database.ts';
import { BadRequestError } from '../kernel/errors.ts';
import { inTimeRange } from '../kernel/time-range.ts';
import type { Order, OrderStatus } from './order.ts';
import type { Position } from './position.ts';

interface OrderRow {
  id: number;
  account_id: number;
  client_order_id: string | null;
  instrument_id: number;
  side: Order['side'];
  type: Order['type'];
  time_in_force: Order['timeInForce'];
  quantity: number;
  limit_price: number | null;
  stop_price: number | null;
  status: OrderStatus;
  filled_quantity: number;
  filled_notional: number;
  reject_reason: string | null;
  reject_message: string | null;
  triggered: boolean;
  created_at: number;
  updated_at: number;
}

export interface AccountRow {
  id: number;
  opening_cash: number;
  cash: number;
  allow_short: boolean;
  limits: unknown;
  has_client_ids: boolean;
}

export interface PositionRow extends Position {
  accountId: number;
  instrumentId: number;
}

export interface CashTransaction {
  id: number;
  kind: string;
  amount: number;
  balanceAfter: number;
  refId: number | null;
  ts: number;
}

export interface Snapshot {
  ts: number;
  equity: number;
  cash: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | undefined;
}

const epochMs = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::int8 AS ${column}`;
const ORDER_COLUMNS = `id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
  status, filled_quantity, filled_notional, reject_reason, reject_message, triggered, ${epochMs('created_at')}, ${epochMs('updated_at')}`;
const OPEN = `status IN ('accepted', 'partially_filled')`;
/** An order found through its key (completed by a WHERE on k and a closing parenthesis): id and month come from order_keys. */
const ORDER_BY_KEY = `SELECT ${ORDER_COLUMNS} FROM trading_orders WHERE (id, created_at) = (SELECT k.id, k.created_at FROM order_keys k`;

export interface OrderFilter {
  status?: OrderStatus;
  instrumentId?: number;
  limit: number;
  cursor?: string;
}

/** Which accounts a load covers: some ids, or every account of some shards (account id mod shard count). */
export type AccountScope = { ids: readonly number[] } | { shards: readonly number[]; shardCount: number };

function inScope(column: string, scope: AccountScope): string {
  return 'ids' in scope ? `${column} = ANY($1::int8[])` : `${column} % $2 = ANY($1::int8[])`;
}

function scopeParams(scope: AccountScope): unknown[] {
  return 'ids' in scope ? [scope.ids] : [scope.shards, scope.shardCount];
}

export class TradingStore {
  constructor(
    private readonly db: Database,
    private readonly symbolOf: (instrumentId: number) => string,
  ) {}

  /** Accounts in scope, with whether they ever used client order ids. */
  async accounts(scope: AccountScope): Promise<AccountRow[]> {
    const { rows } = await this.db.query<AccountRow>(
      `SELECT a.id, a.opening_cash, a.cash, a.allow_short, a.limits,
              EXISTS (SELECT 1 FROM order_keys k WHERE k.account_id = a.id AND k.client_order_id IS NOT NULL) AS has_client_ids
         FROM accounts a WHERE ${inScope('a.id', scope)} ORDER BY a.id`,
      scopeParams(scope),
    );
    return rows;
  }

  async positions(scope: AccountScope): Promise<PositionRow[]> {
    const { rows } = await this.db.query<{ account_id: number; instrument_id: number; quantity: number; cost_basis: number; realized_pnl: number }>(
      `SELECT account_id, instrument_id, quantity, cost_basis, realized_pnl FROM positions WHERE ${inScope('account_id', scope)}`,
      scopeParams(scope),
    );
    return rows.map((r) => ({ accountId: r.account_id, instrumentId: r.instrument_id, quantity: r.quantity, costBasis: r.cost_basis, realizedPnl: r.realized_pnl }));
  }

  /**
   * Open orders in id order (the order they were accepted in), through each month's small partial index over
   * open orders: a good-till-cancelled order may rest in any month, so this one read visits them all (at start).
   */
  async openOrders(scope: AccountScope): Promise<Order[]> {
    const { rows } = await this.db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM trading_orders WHERE ${OPEN} AND ${inScope('account_id', scope)} ORDER BY id`, scopeParams(scope));
    return rows.map((r) => this.toOrder(r));
  }

  /** Through order_keys, which names the order's month: the read touches that partition only (run-time pruning). */
  async orderByClientId(accountId: number, clientOrderId: string): Promise<Order | undefined> {
    const { rows } = await this.db.query<OrderRow>(`${ORDER_BY_KEY} WHERE k.account_id = $1 AND k.client_order_id = $2)`, [accountId, clientOrderId]);
    return rows[0] && this.toOrder(rows[0]);
  }

  /** An order of one of these accounts; undefined (a 404) for anyone else's. Pruned like orderByClientId. */
  async order(id: number, accountIds: readonly number[]): Promise<Order | undefined> {
    const { rows } = await this.db.query<OrderRow>(`${ORDER_BY_KEY} WHERE k.id = $1 AND k.account_id = ANY($2::int8[]))`, [id, accountIds]);
    return rows[0] && this.toOrder(rows[0]);
  }

  /**
   * Newest first, keyset-paginated on (created_at, id) — the trading_orders_account_* indexes. Months are read
   * newest first and the scan stops at the page's end; a cursor also bounds created_at, pruning later months.
   */
  async orders(accountId: number, filter: OrderFilter): Promise<Page<Order>> {
    const params: unknown[] = [accountId];
    let where = 'account_id = $1';
    if (filter.status) where += ` AND status = $${params.push(filter.status)}`;
    if (filter.instrumentId !== undefined) where += ` AND instrument_id = $${params.push(filter.instrumentId)}`;
    if (filter.cursor) {
      const [createdAt, id] = decodeCursor(filter.cursor, 2, (values) => inTimeRange(values[0]!));
      const at = `to_timestamp($${params.push(createdAt)} / 1000.0)`;
      where += ` AND created_at <= ${at} AND (created_at, id) < (${at}, $${params.push(id)})`;
    }
    const { rows } = await this.db.query<OrderRow>(
      // Ordered by the column, not the epoch-ms output of the same name: the index gives that order, month by month.
      `SELECT ${ORDER_COLUMNS} FROM trading_orders o WHERE ${where} ORDER BY o.created_at DESC, o.id DESC LIMIT $${params.push(filter.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, filter.limit).map((r) => this.toOrder(r));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > filter.limit && last ? encodeCursor([last.createdAt, last.id]) : undefined };
  }

  /** Newest first, keyset-paginated on (ts, id), pruned like `orders`. */
  async transactions(accountId: number, limit: number, cursor?: string): Promise<Page<CashTransaction>> {
    const params: unknown[] = [accountId];
    let where = 'account_id = $1';
    if (cursor) {
      const [ts, id] = decodeCursor(cursor, 2, (values) => inTimeRange(values[0]!));
      const at = `to_timestamp($${params.push(ts)} / 1000.0)`;
      where += ` AND ts <= ${at} AND (ts, id) < (${at}, $${params.push(id)})`;
    }
    const { rows } = await this.db.query<{ id: number; kind: string; amount: number; balance_after: number; ref_id: number | null; ts: number }>(
      `SELECT id, kind, amount, balance_after, ref_id, ${epochMs('ts')} FROM trading_cash_transactions c WHERE ${where} ORDER BY c.ts DESC, c.id DESC LIMIT $${params.push(limit + 1)}`,
      params,
    );
    const items = rows.slice(0, limit).map((r) => ({ id: r.id, kind: r.kind, amount: r.amount, balanceAfter: r.balance_after, refId: r.ref_id, ts: r.ts }));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.ts, last.id]) : undefined };
  }

  async snapshots(accountId: number, from: number, to: number, limit: number): Promise<Snapshot[]> {
    const { rows } = await this.db.query<Snapshot>(
      `SELECT ${epochMs('ts')}, equity, cash FROM portfolio_snapshots
        WHERE account_id = $1 AND ts >= to_timestamp($2 / 1000.0) AND ts < to_timestamp($3 / 1000.0) ORDER BY ts DESC LIMIT $4`,
      [accountId, from, to, limit],
    );
    return rows.reverse();
  }

  /** The last snapshot at or before `ts` (the reference for the day's change). */
  async snapshotAt(accountId: number, ts: number): Promise<Snapshot | undefined> {
    const { rows } = await this.db.query<Snapshot>(
      `SELECT ${epochMs('ts')}, equity, cash FROM portfolio_snapshots WHERE account_id = $1 AND ts <= to_timestamp($2 / 1000.0) ORDER BY ts DESC LIMIT 1`,
      [accountId, ts],
    );
    return rows[0];
  }

  /** Replaces an account's limit overrides and short permission. */
  async configureAccount(accountId: number, settings: { limits: Record<string, number>; allowShort: boolean }): Promise<void> {
    await this.db.query('UPDATE accounts SET limits = $2::jsonb, allow_short = $3 WHERE id = $1', [accountId, JSON.stringify(settings.limits), settings.allowShort]);
  }

  async writeSnapshots(ts: number, rows: readonly { accountId: number; equity: number; cash: number }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO portfolio_snapshots (account_id, ts, equity, cash)
       SELECT account_id, to_timestamp($1 / 1000.0), equity, cash FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS t(account_id, equity, cash)
       ON CONFLICT DO NOTHING`,
      [ts, rows.map((r) => r.accountId), rows.map((r) => r.equity), rows.map((r) => r.cash)],
    );
  }

  private toOrder(r: OrderRow): Order {
    return {
      id: r.id,
      accountId: r.account_id,
      clientOrderId: r.client_order_id,
      instrumentId: r.instrument_id,
      symbol: this.symbolOf(r.instrument_id),
      side: r.side,
      type: r.type,
      timeInForce: r.time_in_force,
      quantity: r.quantity,
      limitPrice: r.limit_price,
      stopPrice: r.stop_price,
      status: r.status,
      filledQuantity: r.filled_quantity,
      filledNotional: r.filled_notional,
      rejectReason: r.reject_reason,
      rejectMessage: r.reject_message,
      triggered: r.triggered,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

function encodeCursor(values: number[]): string {
  return Buffer.from(values.join(':')).toString('base64url');
}

/** Opaque cursors are ours to parse; a tampered one (or one the database could not compare) is the client's error. */
function decodeCursor(cursor: string, parts: number, valid: (values: number[]) => boolean = () => true): number[] {
  const values = Buffer.from(cursor, 'base64url').toString().split(':').map(Number);
  if (values.length !== parts || !values.every(Number.isSafeInteger) || !valid(values)) throw new BadRequestError('query.cursor is not a cursor this API returned', { field: 'query.cursor' });
  return values;
}
