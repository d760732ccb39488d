/**
 * Portfolio valuation at live prices, from an account's in-memory state, and the equity snapshots
 * behind the equity curve (one row per account per interval, written in one statement).
 */
import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import type { AccountState } from './account.ts';
import type { TradingEngine } from './engine.ts';
import { marketValue, unrealizedPnl } from './position.ts';

export interface PositionView {
  instrumentId: number;
  quantity: number;
  costBasis: number;
  /** Units, rounded: cost basis over quantity. */
  averagePrice: number;
  lastPrice: number;
  marketValue: number;
  unrealizedPnl: number;
  realizedPnl: number;
}

export interface PortfolioView {
  accountId: number;
  openingCash: number;
  cash: number;
  reservedCash: number;
  buyingPower: number;
  marketValue: number;
  equity: number;
  unrealizedPnl: number;
  realizedPnl: number;
  positions: PositionView[];
}

export function valuePortfolio(account: AccountState, priceOf: (instrumentId: number) => number): PortfolioView {
  const positions: PositionView[] = [];
  let value = 0;
  let unrealized = 0;
  let realized = 0;
  for (const [instrumentId, h] of account.holdings) {
    realized += h.realizedPnl;
    if (h.quantity === 0) continue;
    const last = priceOf(instrumentId);
    const view: PositionView = {
      instrumentId,
      quantity: h.quantity,
      costBasis: h.costBasis,
      averagePrice: Math.round(h.costBasis / h.quantity),
      lastPrice: last,
      marketValue: marketValue(h, last),
      unrealizedPnl: unrealizedPnl(h, last),
      realizedPnl: h.realizedPnl,
    };
    value += view.marketValue;
    unrealized += view.unrealizedPnl;
    positions.push(view);
  }
  return {
    accountId: account.id,
    openingCash: account.openingCash,
    cash: account.cash,
    reservedCash: account.reservedCash,
    buyingPower: account.buyingPower(priceOf),
    marketValue: value,
    equity: account.cash + value,
    unrealizedPnl: unrealized,
    realizedPnl: realized,
    positions,
  };
}

/** Writes every loaded account's equity on an interval (unref'd timer). */
export class EquitySnapshotter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: TradingEngine,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.snapshot().catch((err: unknown) => this.logger.warn({ err }, 'equity snapshot failed')), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Snapshots at `now` rounded down to the interval, so instances sharing a database write the same keys. */
  async snapshot(now = this.clock.now()): Promise<void> {
    if (!this.engine.running) return;
    const ts = now - (now % this.intervalMs);
    const priceOf = (id: number) => this.engine.lastPrice(id);
    const rows = [...this.engine.loadedAccounts()].map((account) => {
      const view = valuePortfolio(account, priceOf);
      return { accountId: account.id, equity: view.equity, cash: view.cash };
    });
    await this.engine.writeSnapshots(ts, rows);
  }
}
