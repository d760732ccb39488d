/**
 * A VU's WebSocket session on the platform gateway (/ws): its watchlist's quotes and its orders
 * channel. Measures what only a business-aware client can:
 *  - ws_msg_latency: tick time (the quote's own `ts`) to receipt, per message (frames are batches).
 *    A quote the gateway conflated away reached the client only with the quote that superseded it,
 *    so each skipped one is charged until then, its tick time interpolated between its delivered
 *    neighbours: the WebSocket analogue of charging a stalled HTTP request from when it was due.
 *    ws_msg_latency_delivered keeps the uncorrected figure (like http_req_service_time).
 *  - ws_seq_gaps: a sequence break on an event channel (orders, which the gateway never conflates), or
 *    any channel's sequence going backwards. Conflation on state channels is counted in ws_msgs_conflated.
 *    A session that replaces a lost one (its instance was killed) resubscribes with the last offset
 *    and epoch of each orders channel: the server replays exactly the missed events, which are
 *    checked like live ones, so a gap across the reconnection counts too. When recovery is impossible
 *    (ws_recovery_failed) the snapshot restarts the sequence; ws_recovered counts the channels resumed.
 * Order events are also how a VU learns its fills (see orders.ts).
 */
import { epochNowMs } from '../metrics.ts';
import type { IterationContext } from '../scenario.ts';
import type { WsSession } from '../ws-session.ts';

interface ChannelMessage {
  channel: string;
  seq: number;
  offset?: number;
  epoch?: string;
  event?: string;
  data: unknown;
}
interface Subscribed {
  channel: string;
  seq: number;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  recoveryError?: string;
  publications?: ChannelMessage[];
}
type Frame = { type: 'batch'; messages: ChannelMessage[] } | { type: 'subscribed'; subscriptions: Subscribed[] } | { type: string };

interface ChannelState {
  seq: number;
  /** Tick time of the last delivered quote, for interpolating conflated ones. */
  lastTs: number | undefined;
}

/** An order event as the orders channel carries it (trading/dto.ts; only the fields the mix reads). */
interface OrderEvent {
  type: string;
  order: { id: number };
}

export class TradingStream {
  private readonly channels: Map<string, ChannelState>;
  /** Recoverable channels: the last offset and epoch received, for the session that replaces this one. */
  private readonly positions: Map<string, { offset: number; epoch: string }>;
  /** Receipt time of each order's final fill seen on the channel, until the VU that placed it collects it. */
  private readonly filled: Map<number, number>;
  private readonly fillWaiters: Map<number, (at: number) => void>;

  private constructor(
    private readonly session: WsSession,
    private readonly ctx: IterationContext,
    private readonly onQuote: (symbol: string, lastUnits: number) => void,
    previous: TradingStream | undefined,
  ) {
    // A replacement continues its predecessor's sequences, offsets and awaited fills.
    this.channels = previous?.channels ?? new Map();
    this.positions = previous?.positions ?? new Map();
    this.filled = previous?.filled ?? new Map();
    this.fillWaiters = previous?.fillWaiters ?? new Map();
    session.onMessage((frame) => this.onFrame(frame as Frame));
  }

  get closed(): Promise<void> {
    return this.session.closed;
  }

  /** Opens a session; `previous` (a lost session of the same VU) is resumed from its offsets. */
  static async open(ctx: IterationContext, token: string, channels: string[], onQuote: (symbol: string, lastUnits: number) => void, previous?: TradingStream): Promise<TradingStream> {
    const session = await ctx.ws.connect('/ws', { headers: { authorization: `Bearer ${token}` }, tags: { endpoint: 'ws' } });
    const stream = new TradingStream(session, ctx, onQuote, previous);
    const subscribed = session.waitFor<Frame>((m) => (m as Frame).type === 'subscribed' || (m as Frame).type === 'error', 10_000);
    const recover = stream.positions.size > 0 ? Object.fromEntries(stream.positions) : undefined;
    session.send({ type: 'subscribe', id: 1, channels, ...(recover && { recover }) });
    const answer = await subscribed;
    if (answer.type !== 'subscribed') {
      await session.close();
      throw new Error(`WebSocket subscribe refused: ${JSON.stringify(answer).slice(0, 200)}`);
    }
    return stream;
  }

  /** Resolves with the receipt time of the order's fill, or undefined after `timeoutMs`. */
  fillOf(orderId: number, timeoutMs: number): Promise<number | undefined> {
    const seen = this.filled.get(orderId);
    if (seen !== undefined) {
      this.filled.delete(orderId);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fillWaiters.delete(orderId);
        resolve(undefined);
      }, timeoutMs);
      this.fillWaiters.set(orderId, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private onFrame(frame: Frame): void {
    const at = epochNowMs();
    if (frame.type === 'subscribed') {
      const { metrics } = this.ctx;
      for (const s of (frame as Extract<Frame, { type: 'subscribed' }>).subscriptions) {
        const kind = s.channel.split(':', 1)[0] as string;
        // A zero makes "no gap" a figure in the results rather than an absent metric.
        metrics.counter('ws_seq_gaps').add(0, { channel: kind });
        if (s.recovered === true && this.channels.has(s.channel)) {
          metrics.counter('ws_recovered').add(1, { channel: kind });
          for (const message of s.publications ?? []) this.onMessage(message, at);
        } else {
          if (s.recoveryError !== undefined) metrics.counter('ws_recovery_failed').add(1, { channel: kind, reason: s.recoveryError });
          this.channels.set(s.channel, { seq: s.seq, lastTs: undefined });
        }
        if (s.offset !== undefined && s.epoch !== undefined) this.positions.set(s.channel, { offset: s.offset, epoch: s.epoch });
      }
      return;
    }
    if (frame.type !== 'batch') return;
    for (const message of (frame as Extract<Frame, { type: 'batch' }>).messages) this.onMessage(message, at);
  }

  private onMessage(message: ChannelMessage, at: number): void {
    const { metrics } = this.ctx;
    if (message.offset !== undefined && message.epoch !== undefined) this.positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
    const kind = message.channel.split(':', 1)[0] as string;
    const state = this.channels.get(message.channel);
    if (state) {
      const skipped = message.seq - state.seq - 1;
      if (skipped < 0 || (skipped > 0 && kind !== 'quotes' && kind !== 'portfolio')) metrics.counter('ws_seq_gaps').add(1, { channel: kind });
      else if (skipped > 0) metrics.counter('ws_msgs_conflated').add(skipped, { channel: kind });
      if (kind === 'quotes') this.quoteLatency(state, message, skipped, at);
      state.seq = Math.max(state.seq, message.seq);
    }
    if (kind === 'orders' && message.event === 'order') {
      const { type, order } = message.data as OrderEvent;
      if (type !== 'filled') return;
      const waiter = this.fillWaiters.get(order.id);
      if (waiter) {
        this.fillWaiters.delete(order.id);
        waiter(at);
      } else this.filled.set(order.id, at);
    }
  }

  private quoteLatency(state: ChannelState, message: ChannelMessage, skipped: number, at: number): void {
    const quote = message.data as { symbol?: string; last?: number; ts?: number };
    if (quote.symbol !== undefined && quote.last !== undefined) this.onQuote(quote.symbol, quote.last);
    const ts = quote.ts;
    if (typeof ts !== 'number') return;
    const latency = this.ctx.metrics.trend('ws_msg_latency');
    // Clock skew between hosts can make a latency slightly negative: clamp rather than drop.
    const delivered = Math.max(0, at - ts);
    latency.add(delivered, { channel: 'quotes' });
    this.ctx.metrics.trend('ws_msg_latency_delivered').add(delivered, { channel: 'quotes' });
    if (skipped > 0 && state.lastTs !== undefined) {
      const step = (ts - state.lastTs) / (skipped + 1);
      for (let i = 1; i <= skipped; i++) latency.add(Math.max(0, at - (state.lastTs + i * step)), { channel: 'quotes' });
    }
    state.lastTs = ts;
  }
}
