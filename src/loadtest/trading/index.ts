/**
 * The trading mix as a scenario: one account per VU (setup), one weighted operation per iteration,
 * a WebSocket session for a share of VUs, and per-VU verification at the end. Built-in scenarios
 * (scenarios/*.ts) and YAML files are this factory with different executors, weights and thresholds.
 */
import { epochNowMs } from '../metrics.ts';
import type { IterationContext, Scenario } from '../scenario.ts';
import { createTraders } from './accounts.ts';
import type { TradingData } from './accounts.ts';
import { picker, resolveTrading, splitConfig } from './config.ts';
import type { TradingConfig } from './config.ts';
import { STEPS } from './operations.ts';
import { TraderState, failedStream } from './state.ts';
import { TradingStream } from './stream.ts';
import { verifyTrader } from './verify.ts';

export type { TradingConfig, TradingMix, Weights, Operation } from './config.ts';
export { DEFAULT_WEIGHTS, OPERATIONS } from './config.ts';

/** Business thresholds every trading scenario carries unless it overrides the key. */
export const CORRECTNESS_THRESHOLDS = {
  orders_missing: ['count==0'],
  portfolio_mismatches: ['count==0'],
  'ws_seq_gaps{channel:orders}': ['count==0'],
};

/** Reads the server's resident memory (admin health) into server_memory_rss_mb, at most every `everyMs`. */
async function sampleMemory(ctx: IterationContext<TradingData>, everyMs: number): Promise<void> {
  const now = epochNowMs();
  if (now < ((ctx.vu.state.memoryDueAt as number | undefined) ?? 0) || !ctx.data.adminToken) return;
  ctx.vu.state.memoryDueAt = now + everyMs;
  const res = await ctx.http.get('/api/health/detailed', { headers: { authorization: `Bearer ${ctx.data.adminToken}` }, tags: { endpoint: 'health' } });
  const rss = res.status === 200 ? res.json<{ memory?: { rssBytes?: number } }>().memory?.rssBytes : undefined;
  if (rss !== undefined) ctx.metrics.trend('server_memory_rss_mb').add(rss / 1_048_576);
}

export function tradingScenario(config: TradingConfig): Scenario<TradingData> {
  const { options, mix } = splitConfig(config);
  const resolved = resolveTrading(mix);
  const pick = picker(resolved.weights);
  const trader = (ctx: IterationContext<TradingData>): TraderState => (ctx.vu.state.trader ??= new TraderState(ctx.vu.id, ctx.data, resolved)) as TraderState;

  return {
    options: { ...options, thresholds: { ...CORRECTNESS_THRESHOLDS, ...options.thresholds } },
    setup: (ctx) => createTraders(ctx, resolved),
    async default(ctx) {
      const s = trader(ctx);
      let first = true;
      if (s.wantsStream && !s.stream && epochNowMs() >= s.streamRetryAt) {
        first = false;
        try {
          const channels = [...s.watchlist.map((i) => `quotes:${i.symbol}`), `orders:${s.account.accountId}`];
          const stream = await TradingStream.open(ctx, s.account.token, channels, (symbol, last) => s.onStreamQuote(symbol, last), s.lostStream);
          s.stream = stream;
          s.lostStream = undefined;
          void stream.closed.then(() => {
            if (s.stream === stream) failedStream(s, epochNowMs());
          });
        } catch {
          // Trading goes on without the stream (fills are polled); ws_connect_failed has the cause's count.
          failedStream(s, epochNowMs());
        }
      }
      if (ctx.vu.id === 1 && resolved.memorySampleMs > 0) await sampleMemory(ctx, resolved.memorySampleMs);
      await STEPS[pick(Math.random())](ctx, s, first);
    },
    async vuTeardown(ctx) {
      const s = ctx.vu.state.trader as TraderState | undefined;
      if (s) await verifyTrader(ctx, s);
    },
  };
}
