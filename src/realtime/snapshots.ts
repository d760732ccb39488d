/**
 * What a subscriber receives first: the channel's current state, so after a reconnect it needs no
 * history replay. Quotes come from memory; bars from the store; orders and portfolio from an
 * `AccountSnapshotProvider`, the port the trading core implements from its in-memory state.
 * Until it does, `DatabaseAccountSnapshots` reads the system of record.
 */
import type { Queryable } from '../db/database.ts';
import type { MarketData } from '../market-data/service.ts';
import type { QuoteData } from './protocol.ts';

export interface AccountSnapshotProvider {
  /** The account's working orders, enough to rebuild an order blotter. */
  orders(accountId: number): Promise<unknown>;
  /** Cash and positions. */
  portfolio(accountId: number): Promise<unknown>;
}

export class DatabaseAccountSnapshots implements AccountSnapshotProvider {
  constructor(private readonly db: Queryable) {}

  async orders(accountId: number): Promise<unknown> {
    const { rows } = await this.db.query(
      `SELECT o.id::text AS id, o.client_order_id AS "clientOrderId", i.symbol, o.side, o.type, o.time_in_force AS "timeInForce",
              o.quantity::int8 AS quantity, o.limit_price AS "limitPrice", o.stop_price AS "stopPrice", o.status,
              o.filled_quantity AS "filledQuantity", (extract(epoch FROM o.updated_at) * 1000)::int8 AS "updatedAt"
         FROM orders o JOIN instruments i ON i.id = o.instrument_id
        WHERE o.account_id = $1 AND o.status IN ('accepted', 'partially_filled')
        ORDER BY o.created_at DESC LIMIT 1000`,
      [accountId],
    );
    return { accountId, openOrders: rows.map(numbers) };
  }

  async portfolio(accountId: number): Promise<unknown> {
    const [account, positions] = await Promise.all([
      this.db.query<{ cash: string }>('SELECT cash FROM accounts WHERE id = $1', [accountId]),
      this.db.query(
        `SELECT i.symbol, p.quantity, p.cost_basis AS "costBasis", p.realized_pnl AS "realizedPnl"
           FROM positions p JOIN instruments i ON i.id = p.instrument_id
          WHERE p.account_id = $1 AND p.quantity <> 0 ORDER BY i.symbol`,
        [accountId],
      ),
    ]);
    return { accountId, cash: Number(account.rows[0]?.cash ?? 0), positions: positions.rows.map(numbers) };
  }
}

// int8 columns arrive as strings from pg; money units and quantities are exact as JS numbers (kernel/money.ts).
function numbers(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = key !== 'id' && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return out;
}

/** The current quote as a tick-shaped payload (size 0: no trade), from this instance's book. */
export function quoteSnapshot(marketData: MarketData, symbol: string): QuoteData | undefined {
  const id = marketData.book.idOf(symbol);
  const quote = id === undefined ? undefined : marketData.book.get(id);
  if (id === undefined || !quote) return undefined;
  return { id, symbol, bid: quote.bid, ask: quote.ask, last: quote.last, size: 0, ts: quote.ts };
}

/** The last stored 1-minute bar, or null before the first one closes. */
export async function barSnapshot(marketData: MarketData, symbol: string, now: number): Promise<unknown> {
  const [bar] = await marketData.bars(symbol, '1m', { to: now, limit: 1 });
  return bar ?? null;
}
