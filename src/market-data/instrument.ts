/** A tradable instrument of the simulated universe. Prices are integer units (kernel/money.ts). */
export interface Instrument {
  /** 1..n, dense: typed arrays throughout market data are indexed by it. */
  id: number;
  symbol: string;
  name: string;
  sector: string;
  exchange: string;
  /** Minimum price increment in units (100 = $0.01, 1 = $0.0001 for sub-dollar names). */
  tickSize: number;
  /** Whole shares per lot; order quantities are multiples of it. */
  lotSize: number;
  /** Reference price in units the simulation starts from and reverts to. */
  basePrice: number;
  /** Annualized volatility, e.g. 0.25. */
  volatility: number;
  /** Average shares traded per day. */
  avgVolume: number;
}
