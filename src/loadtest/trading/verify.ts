/**
 * End-of-run correctness for one VU (the scenario's vuTeardown), with load still in memory:
 *  - orders_missing: acknowledged orders that GET /api/orders/:id no longer finds (must be 0:
 *    an order is acknowledged only once durable).
 *  - portfolio_mismatches: the account's cash and positions against what its own orders imply
 *    (opening cash − Σ bought notional + Σ sold notional; opening position + Σ signed filled quantity
 *    per symbol).
 *    Open orders are cancelled first so nothing fills between the reads.
 */
import type { IterationContext } from '../scenario.ts';
import type { TraderState } from './state.ts';

interface OrderView {
  id: number;
  symbol: string;
  side: 'buy' | 'sell';
  status: string;
  filledQuantity: number;
  /** Average fill price (currency units, rounded to 1/10,000); null before the first fill. */
  averageFillPrice: number | null;
}

interface PortfolioView {
  cash: number;
  positions: Array<{ symbol: string; quantity: number }>;
}

const CONCURRENCY = 4;
/** Average prices are rounded to 1/10,000: allow that much per filled share when rebuilding cash. */
const PRICE_UNIT = 0.0001;

export async function verifyTrader(ctx: IterationContext, s: TraderState): Promise<void> {
  await s.stream?.close();
  const orders = await fetchOrders(ctx, s, s.acknowledged);
  const missing = s.acknowledged.length - orders.size;
  ctx.metrics.counter('orders_missing').add(missing);
  ctx.metrics.counter('orders_verified').add(orders.size);

  const open = [...orders.values()].filter((o) => o.status === 'accepted' || o.status === 'partially_filled');
  if (open.length > 0) {
    await each(open, (o) => ctx.http.delete(`/api/orders/${o.id}`, { headers: s.headers }));
    for (const [id, order] of await fetchOrders(ctx, s, open.map((o) => o.id))) orders.set(id, order);
  }
  const res = await ctx.http.get('/api/portfolio', { headers: s.headers });
  if (res.status !== 200) throw new Error(`GET /api/portfolio: HTTP ${res.status}`);
  const mismatches = reconcile(s.account.openingCash, [...orders.values()], res.json<PortfolioView>(), s.account.openingPositions);
  ctx.metrics.counter('portfolio_mismatches').add(mismatches.length === 0 ? 0 : 1);
  if (mismatches.length > 0) throw new Error(`account ${s.account.accountId} does not reconcile: ${mismatches.slice(0, 3).join('; ')}`);
}

/** Differences between the portfolio and what the orders imply; empty when they reconcile. */
export function reconcile(openingCash: number, orders: readonly OrderView[], portfolio: PortfolioView, openingPositions: Record<string, number> = {}): string[] {
  const expected = new Map<string, number>(Object.entries(openingPositions));
  let cash = openingCash;
  let filledShares = 0;
  for (const o of orders) {
    if (o.filledQuantity === 0) continue;
    const sign = o.side === 'buy' ? 1 : -1;
    expected.set(o.symbol, (expected.get(o.symbol) ?? 0) + sign * o.filledQuantity);
    cash -= sign * o.filledQuantity * (o.averageFillPrice ?? 0);
    filledShares += o.filledQuantity;
  }
  const problems: string[] = [];
  const actual = new Map(portfolio.positions.map((p) => [p.symbol, p.quantity]));
  for (const symbol of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(symbol) ?? 0;
    const got = actual.get(symbol) ?? 0;
    if (want !== got) problems.push(`${symbol}: position ${got}, orders imply ${want}`);
  }
  if (Math.abs(portfolio.cash - cash) > filledShares * PRICE_UNIT + 0.005) problems.push(`cash ${portfolio.cash}, orders imply ${cash.toFixed(4)}`);
  return problems;
}

async function fetchOrders(ctx: IterationContext, s: TraderState, ids: readonly number[]): Promise<Map<number, OrderView>> {
  const found = new Map<number, OrderView>();
  await each(ids, async (id) => {
    const res = await ctx.http.get(`/api/orders/${id}`, { headers: s.headers });
    if (res.status === 200) found.set(id, res.json<OrderView>());
    else if (res.status !== 404) throw new Error(`GET /api/orders/${id}: HTTP ${res.status} ${res.error ?? ''}`);
  });
  return found;
}

async function each<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
