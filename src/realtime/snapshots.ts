/**
 * What a subscriber receives first: the channel's current state, so after a reconnect it needs no
 * history replay. Quotes come from memory; bars from the store; orders and portfolio from the
 * trading engine's in-memory accounts when this instance owns the account (the single writer's
 * state, read in the account's lane), else from the database (what the owner committed; never a
 * stale local copy), in the shapes of the `order.*` and `portfolio.*` events that follow them.
 */
import { fromUnits } from '../kernel/money.ts';
import type { MarketData } from '../market-data/service.ts';
import { toOrderDto, type OrderDto } from '../trading/dto.ts';
import type { TradingEngine } from '../trading/engine.ts';
import type { Holding } from '../trading/account.ts';
import type { QuoteData } from './protocol.ts';

export interface AccountSnapshotProvider {
  /** The account's working orders, enough to rebuild an order blotter. */
  orders(accountId: number): Promise<unknown>;
  /** Cash and positions. */
  portfolio(accountId: number): Promise<unknown>;
}

export interface OrdersSnapshot {
  accountId: number;
  /** Newest first, like the orders API. */
  openOrders: OrderDto[];
}

export interface PortfolioSnapshot {
  accountId: number;
  cash: number;
  /** Open positions by symbol, each like a `portfolio.<accountId>` event's position fields. */
  positions: { symbol: string; quantity: number; averagePrice: number; realizedPnl: number }[];
}

export class EngineAccountSnapshots implements AccountSnapshotProvider {
  constructor(
    private readonly engine: Pick<TradingEngine, 'read' | 'owns' | 'committedAccount'>,
    private readonly marketData: MarketData,
  ) {}

  async orders(accountId: number): Promise<OrdersSnapshot> {
    const open = this.engine.owns(accountId)
      ? await this.engine.read(accountId, (account) => [...account.open.values()].map((w) => toOrderDto(w.order)))
      : ((await this.engine.committedAccount(accountId))?.openOrders ?? []).map((order) => toOrderDto(order));
    return { accountId, openOrders: open.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id) };
  }

  async portfolio(accountId: number): Promise<PortfolioSnapshot> {
    if (this.engine.owns(accountId)) return this.engine.read(accountId, (account) => this.toPortfolio(accountId, account.cash, account.holdings));
    const account = await this.engine.committedAccount(accountId);
    return this.toPortfolio(accountId, account?.cash ?? 0, new Map((account?.positions ?? []).map((p) => [p.instrumentId, p])));
  }

  private toPortfolio(accountId: number, cash: number, holdings: ReadonlyMap<number, Pick<Holding, 'quantity' | 'costBasis' | 'realizedPnl'>>): PortfolioSnapshot {
    const { book } = this.marketData;
    return {
      accountId,
      cash: fromUnits(cash),
      positions: [...holdings]
        .filter(([, h]) => h.quantity !== 0)
        .map(([instrumentId, h]) => ({
          symbol: book.symbolOf(instrumentId) ?? String(instrumentId),
          quantity: h.quantity,
          averagePrice: fromUnits(Math.round(h.costBasis / h.quantity)),
          realizedPnl: fromUnits(h.realizedPnl),
        }))
        .sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
    };
  }
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
