/**
 * The mix's operations: what a trader's app does, one per iteration. Each request is tagged with
 * its operation (`endpoint`), so the summary has a line per operation and thresholds can target one
 * (`http_req_duration{endpoint:quote}`).
 */
import { epochNowMs } from '../metrics.ts';
import type { IterationContext } from '../scenario.ts';
import type { Operation } from './config.ts';
import { limitOrderAndCancel, marketOrder } from './orders.ts';
import { readQuote } from './state.ts';
import type { TraderState } from './state.ts';

const DAY_MS = 86_400_000;
const STRATEGY = { type: 'sma_crossover' } as const;

type Step = (ctx: IterationContext, s: TraderState, first: boolean) => Promise<unknown>;

const get = (ctx: IterationContext, s: TraderState, url: string, endpoint: string): Promise<unknown> => ctx.http.get(url, { headers: s.headers, tags: { endpoint }, discardBody: true });

export const STEPS: Record<Operation, Step> = {
  quote: (ctx, s) => readQuote(ctx, s, s.pickSymbol()),
  bars: (ctx, s) => get(ctx, s, `/api/market-data/bars/${s.pickSymbol()}?interval=5m&limit=100`, 'bars'),
  portfolio: (ctx, s) => get(ctx, s, '/api/portfolio', 'portfolio'),
  marketOrder,
  limitOrder: limitOrderAndCancel,
  strategies: (ctx, s) => get(ctx, s, '/api/strategies', 'strategies'),
  backtest: (ctx, s) => {
    const to = epochNowMs();
    const body = { symbols: [s.pickSymbol()], interval: '5m', from: new Date(to - 2 * DAY_MS).toISOString(), to: new Date(to).toISOString(), strategy: STRATEGY };
    return ctx.http.post('/api/backtests', body, { headers: s.headers, tags: { endpoint: 'backtest' }, discardBody: true });
  },
  prediction: (ctx, s) => get(ctx, s, `/api/predictions/${s.pickSymbol()}?horizon=5&interval=1m`, 'prediction'),
  // The volume scenario's large historical query: days of 1-minute bars in one request.
  history: (ctx, s) => {
    const to = Math.round(epochNowMs());
    const from = to - s.config.historyDays * DAY_MS;
    return get(ctx, s, `/api/market-data/bars/${s.pickSymbol()}?interval=1m&from=${from}&to=${to}&limit=10000`, 'history');
  },
};
