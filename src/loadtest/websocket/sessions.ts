/**
 * WebSocket sessions as a scenario (`tachyon loadtest --scenario websocket`, seed 004's
 * `npm run loadtest:websocket`): every VU holds one session on the gateway, subscribed to its
 * watchlist's quotes, and each iteration checks that quotes kept arriving since the last one.
 * The session is the trading mix's stream (trading/stream.ts), so the figures are the same:
 * ws_msg_latency (tick time to receipt, conflated quotes charged until delivered), ws_seq_gaps,
 * ws_connecting, ws_connect_failed. Sessions are spread over a few trader accounts (the gateway
 * caps sessions per user), created or taken over in setup like the trading mix's.
 */
import { BadRequestError } from '../../kernel/errors.ts';
import { epochNowMs } from '../metrics.ts';
import type { IterationContext, Scenario, ScenarioOptions } from '../scenario.ts';
import { createTraders } from '../trading/accounts.ts';
import type { TradingData } from '../trading/accounts.ts';
import { resolveTrading } from '../trading/config.ts';
import { TradingStream } from '../trading/stream.ts';

export interface WebSocketMix {
  /** Sessions per trader account, below the gateway's TACHYON_WS_MAX_CONNECTIONS_PER_USER (default 100). */
  sessionsPerUser?: number;
  /** Quote channels each session subscribes to (consecutive VUs get shifted watchlists). */
  watchlist?: number;
  /** Symbols the watchlists are drawn from: the first `universe` tradable instruments. */
  universe?: number;
  /** How long an iteration waits for quotes (it fails its check when none came): several ticks of a quiet symbol. */
  receiveWindowMs?: number;
}

interface Session {
  stream: TradingStream | undefined;
  quotes: number;
  /** When the VU may try to connect again after a failure or a closed session. */
  retryAt: number;
}

const RETRY_MS = 1_000;

export function websocketScenario(config: ScenarioOptions & WebSocketMix): Scenario<TradingData> {
  const { sessionsPerUser = 50, watchlist = 5, universe = 50, receiveWindowMs = 5_000, ...options } = config;
  if (!(sessionsPerUser >= 1 && watchlist >= 1 && universe >= 1 && receiveWindowMs >= 100)) throw new BadRequestError('websocket scenario: sessionsPerUser, watchlist and universe must be ≥ 1, receiveWindowMs ≥ 100');
  const mix = resolveTrading({ universe, watchlist });
  const session = (ctx: IterationContext<TradingData>): Session => (ctx.vu.state.session ??= { stream: undefined, quotes: 0, retryAt: 0 }) as Session;

  return {
    options,
    // One account per `sessionsPerUser` VUs: the accounts only authenticate the sessions.
    setup: (ctx) => createTraders({ ...ctx, vus: Math.ceil(ctx.vus / sessionsPerUser) }, mix),
    async default(ctx) {
      const s = session(ctx);
      if (!s.stream) {
        if (epochNowMs() < s.retryAt) {
          await ctx.sleep(s.retryAt - epochNowMs());
          return;
        }
        const ok = await connect(ctx, s);
        ctx.check(ok, { 'session subscribed': (v) => v });
        if (!ok) return;
      }
      const before = s.quotes;
      await ctx.sleep(receiveWindowMs);
      if (ctx.signal.aborted) return;
      ctx.check(s.quotes - before, { 'quotes received': (n) => n > 0 });
    },
    async vuTeardown(ctx) {
      await session(ctx).stream?.close();
    },
  };

  async function connect(ctx: IterationContext<TradingData>, s: Session): Promise<boolean> {
    const { accounts, instruments } = ctx.data;
    const account = accounts[Math.floor((ctx.vu.id - 1) / sessionsPerUser) % accounts.length];
    if (!account) throw new Error('setup created no accounts');
    const channels = Array.from({ length: Math.min(watchlist, instruments.length) }, (_, i) => `quotes:${instruments[(ctx.vu.id * 3 + i) % instruments.length]!.symbol}`);
    try {
      const stream = await TradingStream.open(ctx, account.token, channels, () => s.quotes++);
      s.stream = stream;
      void stream.closed.then(() => {
        if (s.stream !== stream) return;
        s.stream = undefined;
        s.retryAt = epochNowMs() + RETRY_MS;
      });
      return true;
    } catch {
      // ws_connect_failed counts refused connects; a refused subscribe shows in the check.
      s.retryAt = epochNowMs() + RETRY_MS;
      return false;
    }
  }
}
