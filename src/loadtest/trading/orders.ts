/**
 * Order flow of one VU: market orders (ack, then fill) and limit orders resting below the market,
 * then cancelled. Every acknowledged id is remembered for the end-of-run verification.
 *
 *  - order_ack_latency: from when the order was due (the iteration's due time when it is the first
 *    request, so the open model's coordinated-omission correction applies) to the 201.
 *  - fill_latency: from the same instant to the fill: the orders-channel event when the VU has a
 *    WebSocket session, else polling GET /api/orders/:id (which overstates it by up to one poll step).
 */
import { PRICE_SCALE } from '../../kernel/money.ts';
import { epochNowMs } from '../metrics.ts';
import type { IterationContext } from '../scenario.ts';
import type { TraderState } from './state.ts';

interface PlacedOrder {
  id: number;
  status: string;
}

const POLL_START_MS = 10;
const POLL_MAX_MS = 200;

export async function marketOrder(ctx: IterationContext, s: TraderState, first: boolean): Promise<void> {
  const instrument = s.pick();
  const { symbol } = instrument;
  // Sell back what the VU holds about half the time, so a long run neither runs out of cash nor hits position limits.
  const held = s.holdings.get(symbol) ?? 0;
  const side = held > 0 && Math.random() < 0.5 ? 'sell' : 'buy';
  const quantity = side === 'sell' ? Math.min(held, s.quantity(instrument)) : s.quantity(instrument);
  const from = first ? ctx.dueAt : epochNowMs();
  const order = await place(ctx, s, { symbol, side, type: 'market', quantity, timeInForce: 'day' }, from);
  if (!order) return;
  const filledAt = order.status === 'filled' ? epochNowMs() : await waitForFill(ctx, s, order.id);
  if (filledAt === undefined) {
    ctx.metrics.counter('orders_unfilled').add(1);
    return;
  }
  ctx.metrics.trend('fill_latency').add(filledAt - from, { type: 'market' });
  s.holdings.set(symbol, held + (side === 'buy' ? quantity : -quantity));
}

export async function limitOrderAndCancel(ctx: IterationContext, s: TraderState, first: boolean): Promise<void> {
  const instrument = s.pick();
  const { symbol, tickSize } = instrument;
  const last = await s.lastPrice(ctx, symbol);
  if (last === undefined) return;
  // 2% below the market, on the tick grid: inside any sensible price collar, far enough not to fill before the cancel.
  const ticks = Math.max(1, Math.floor((last * 0.98) / tickSize));
  const limitPrice = Math.round(ticks * tickSize * PRICE_SCALE) / PRICE_SCALE;
  const order = await place(ctx, s, { symbol, side: 'buy', type: 'limit', quantity: s.quantity(instrument), limitPrice, timeInForce: 'day' }, first ? ctx.dueAt : epochNowMs());
  if (!order) return;
  const res = await ctx.http.delete(`/api/orders/${order.id}`, { headers: s.headers, tags: { endpoint: 'order_cancel' } });
  // 409: it filled first (the market moved 2% in a few ms): legitimate, not an error.
  ctx.check(res, { 'cancel accepted': (r) => r.status === 200 || r.status === 204 || r.status === 409 }, { endpoint: 'order_cancel' });
}

async function place(ctx: IterationContext, s: TraderState, body: Record<string, unknown>, from: number): Promise<PlacedOrder | undefined> {
  const res = await ctx.http.post('/api/orders', { ...body, clientOrderId: s.nextClientOrderId() }, { headers: s.headers, tags: { endpoint: 'order_place' } });
  const type = body.type as string;
  if (res.status !== 201) {
    // A risk rejection (422) is counted by its reason code, so a run shows which rule the mix tripped.
    if (res.status === 422) ctx.metrics.counter('orders_rejected').add(1, { type, reason: rejectCode(res.body) });
    ctx.check(res, { 'order acknowledged': (r) => r.status === 201 || r.status === 422 }, { endpoint: 'order_place' });
    return undefined;
  }
  ctx.metrics.trend('order_ack_latency').add(epochNowMs() - from, { type });
  const order = res.json<PlacedOrder>();
  s.acknowledged.push(order.id);
  ctx.metrics.counter('orders_acknowledged').add(1, { type });
  return order;
}

async function waitForFill(ctx: IterationContext, s: TraderState, id: number): Promise<number | undefined> {
  if (s.stream) return s.stream.fillOf(id, s.config.fillTimeoutMs);
  const deadline = epochNowMs() + s.config.fillTimeoutMs;
  for (let wait = POLL_START_MS; epochNowMs() < deadline && !ctx.signal.aborted; wait = Math.min(POLL_MAX_MS, wait * 2)) {
    await ctx.sleep(wait);
    const res = await ctx.http.get(`/api/orders/${id}`, { headers: s.headers, tags: { endpoint: 'order_get' } });
    if (res.status === 200 && res.json<PlacedOrder>().status === 'filled') return epochNowMs();
  }
  return undefined;
}

function rejectCode(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: unknown }).code ?? 'unknown');
  } catch {
    return 'unknown';
  }
}
