/**
 * Reconciliation: the database must agree with itself. Every position equals the sum of its fills
 * (quantity, and cost basis − realized P&L = net traded notional); every cash balance equals its
 * opening cash plus its cash flows; trade cash flows equal the fills' notional; every order's filled
 * quantity and notional equal its executions. `tachyon reconcile` prints the differences.
 */
import type { Queryable } from '../db/database.ts';

export interface ReconcileReport {
  accounts: number;
  positions: number;
  orders: number;
  problems: string[];
}

const POSITIONS = `
WITH f AS (
  SELECT account_id, instrument_id,
         sum(CASE WHEN side = 'buy' THEN quantity ELSE -quantity END) AS quantity,
         sum(CASE WHEN side = 'buy' THEN quantity * price ELSE -quantity * price END) AS net
    FROM trading_executions GROUP BY account_id, instrument_id
)
SELECT coalesce(p.account_id, f.account_id) AS account_id, coalesce(p.instrument_id, f.instrument_id) AS instrument_id,
       coalesce(p.quantity, 0)::int8 AS held, coalesce(f.quantity, 0)::int8 AS filled,
       coalesce(p.cost_basis - p.realized_pnl, 0)::int8 AS booked, coalesce(f.net, 0)::int8 AS net
  FROM positions p FULL JOIN f ON f.account_id = p.account_id AND f.instrument_id = p.instrument_id
 WHERE coalesce(p.quantity, 0) <> coalesce(f.quantity, 0) OR coalesce(p.cost_basis - p.realized_pnl, 0) <> coalesce(f.net, 0)`;

const CASH = `
SELECT a.id AS account_id, a.cash, (a.opening_cash + coalesce(t.total, 0))::int8 AS expected,
       coalesce(t.trades, 0)::int8 AS trades, coalesce(e.flow, 0)::int8 AS fills
  FROM accounts a
  LEFT JOIN (SELECT account_id, sum(amount) AS total, sum(amount) FILTER (WHERE kind = 'trade') AS trades
               FROM trading_cash_transactions GROUP BY account_id) t ON t.account_id = a.id
  LEFT JOIN (SELECT account_id, sum(CASE WHEN side = 'buy' THEN -quantity * price ELSE quantity * price END) AS flow
               FROM trading_executions GROUP BY account_id) e ON e.account_id = a.id
 WHERE a.cash <> a.opening_cash + coalesce(t.total, 0) OR coalesce(t.trades, 0) <> coalesce(e.flow, 0)`;

const ORDERS = `
SELECT o.id, o.filled_quantity, o.filled_notional, coalesce(e.quantity, 0)::int8 AS executed, coalesce(e.notional, 0)::int8 AS notional
  FROM trading_orders o
  LEFT JOIN (SELECT order_id, sum(quantity) AS quantity, sum(quantity * price) AS notional FROM trading_executions GROUP BY order_id) e ON e.order_id = o.id
 WHERE o.filled_quantity <> coalesce(e.quantity, 0) OR o.filled_notional <> coalesce(e.notional, 0) OR o.filled_quantity > o.quantity`;

const COUNTS = `SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM positions)::int AS positions, (SELECT count(*) FROM trading_orders)::int AS orders`;

export async function reconcile(db: Queryable): Promise<ReconcileReport> {
  const problems: string[] = [];
  const positions = await db.query<{ account_id: number; instrument_id: number; held: number; filled: number; booked: number; net: number }>(POSITIONS);
  for (const r of positions.rows) {
    problems.push(`account ${r.account_id} instrument ${r.instrument_id}: position ${r.held} vs fills ${r.filled}; cost − realized ${r.booked} vs net fills ${r.net} (units)`);
  }
  const cash = await db.query<{ account_id: number; cash: number; expected: number; trades: number; fills: number }>(CASH);
  for (const r of cash.rows) {
    problems.push(`account ${r.account_id}: cash ${r.cash} vs opening + flows ${r.expected}; trade flows ${r.trades} vs fills ${r.fills} (units)`);
  }
  const orders = await db.query<{ id: number; filled_quantity: number; filled_notional: number; executed: number; notional: number }>(ORDERS);
  for (const r of orders.rows) {
    problems.push(`order ${r.id}: filled ${r.filled_quantity} / ${r.filled_notional} vs executions ${r.executed} / ${r.notional}`);
  }
  const counts = (await db.query<{ accounts: number; positions: number; orders: number }>(COUNTS)).rows[0]!;
  return { ...counts, problems };
}
