/** The REST and WebSocket shapes the trading view reads (see docs/websocket.md and /docs). */
export interface Instrument {
  symbol: string;
  name: string;
  tickSize: number;
  lotSize: number;
  tradable: boolean;
}

/** A `quotes:` channel tick: prices in integer units of 1/10,000. */
export interface Tick {
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  ts: number;
}

export interface Order {
  id: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: string;
  quantity: number;
  limitPrice: number | null;
  status: string;
  filledQuantity: number;
  averageFillPrice: number | null;
  rejectMessage: string | null;
  createdAt: number;
}

export interface Position {
  symbol: string;
  quantity: number;
  averagePrice: number;
  lastPrice: number;
  marketValue: number;
  unrealizedPnl: number;
  realizedPnl: number;
}

export interface Portfolio {
  cash: number;
  equity: number;
  unrealizedPnl: number;
  realizedPnl: number;
  dayChange: number;
  positions: Position[];
}

export const PRICE_SCALE = 10_000;
export const OPEN_STATUSES = new Set(['accepted', 'partially_filled']);
export const money = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
