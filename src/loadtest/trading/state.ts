/** What one virtual trader keeps between iterations: its account, watchlist, holdings, acknowledged orders, stream. */
import { PRICE_SCALE } from '../../kernel/money.ts';
import type { IterationContext } from '../scenario.ts';
import type { InstrumentInfo, TraderAccount, TradingData } from './accounts.ts';
import type { ResolvedTrading } from './config.ts';
import type { TradingStream } from './stream.ts';

/** After a failed WebSocket connect, a VU trades without one for this long before retrying. */
const WS_RETRY_MS = 5_000;

export class TraderState {
  readonly account: TraderAccount;
  readonly headers: Record<string, string>;
  readonly watchlist: InstrumentInfo[];
  /** Shares held per symbol: the account's opening positions plus the VU's own confirmed fills. */
  readonly holdings = new Map<string, number>();
  /** Last known price per symbol (currency units), from quote reads and the stream. */
  readonly prices = new Map<string, number>();
  /** Ids of every order the platform acknowledged (201): each must still exist at the end. */
  readonly acknowledged: number[] = [];
  /** Whether this VU holds a WebSocket session (a share of VUs does, per the config). */
  readonly wantsStream: boolean;
  stream: TradingStream | undefined;
  /** The session that was lost, resumed (from its offsets) by the next one. */
  lostStream: TradingStream | undefined;
  streamRetryAt = 0;
  private orderSeq = 0;
  private readonly runId: string;

  constructor(
    readonly vuId: number,
    data: TradingData,
    readonly config: ResolvedTrading,
  ) {
    const account = data.accounts[(vuId - 1) % data.accounts.length];
    if (!account) throw new Error('setup created no accounts');
    this.account = account;
    this.runId = data.runId;
    this.headers = { authorization: `Bearer ${account.token}` };
    // A reused account sells back what earlier runs bought, as it does its own purchases.
    for (const [symbol, quantity] of Object.entries(account.openingPositions)) this.holdings.set(symbol, quantity);
    const all = data.instruments;
    // Consecutive VUs get overlapping but shifted watchlists: popular symbols are shared, as in real traffic.
    this.watchlist = Array.from({ length: Math.min(config.watchlist, all.length) }, (_, i) => all[(vuId * 3 + i) % all.length] as InstrumentInfo);
    this.wantsStream = vuId <= Math.round(config.websocket * data.accounts.length);
  }

  pick(): InstrumentInfo {
    return this.watchlist[Math.floor(Math.random() * this.watchlist.length)] as InstrumentInfo;
  }

  pickSymbol(): string {
    return this.pick().symbol;
  }

  /** Whole lots: 1 to maxQuantity of them. */
  quantity(instrument: InstrumentInfo): number {
    return instrument.lotSize * (1 + Math.floor(Math.random() * this.config.maxQuantity));
  }

  nextClientOrderId(): string {
    return `lt-${this.runId}-${this.vuId}-${++this.orderSeq}`;
  }

  /** Quote stream prices are integer units (kernel/money.ts); REST quotes are decimals. */
  onStreamQuote(symbol: string, lastUnits: number): void {
    this.prices.set(symbol, lastUnits / PRICE_SCALE);
  }

  /** The last known price, reading the quote when the VU has none yet. */
  async lastPrice(ctx: IterationContext, symbol: string): Promise<number | undefined> {
    const known = this.prices.get(symbol);
    if (known !== undefined) return known;
    return readQuote(ctx, this, symbol);
  }
}

export async function readQuote(ctx: IterationContext, s: TraderState, symbol: string): Promise<number | undefined> {
  const res = await ctx.http.get(`/api/market-data/quotes/${symbol}`, { headers: s.headers, tags: { endpoint: 'quote' } });
  if (res.status !== 200) return undefined;
  const last = res.json<{ last: number }>().last;
  s.prices.set(symbol, last);
  return last;
}

export function failedStream(s: TraderState, now: number): void {
  s.lostStream = s.stream ?? s.lostStream;
  s.stream = undefined;
  s.streamRetryAt = now + WS_RETRY_MS;
}
