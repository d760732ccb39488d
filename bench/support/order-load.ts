/** The order load shared by bench:orders and bench:cluster. */
import { Pool } from 'undici';
import { drive, type Run } from './closed-loop.ts';
import { BENCH_ADMIN_TOKEN } from './processes.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'GOOGL', 'META', 'NVDA', 'TSLA', 'JPM'];

/**
 * The order mix of bench:orders against a URL: one trader account per loop, 70% market orders
 * (alternating buy and sell, quantity 1) and 30% resting limit buys 5% below the bid.
 */
export async function orderLoad(url: string, load: { concurrency: number; warmupMs: number; measureMs: number; userPrefix?: string }): Promise<Run> {
  const http = new Pool(url, { connections: load.concurrency, pipelining: 1 });
  const tokens: string[] = [];
  for (let i = 0; i < load.concurrency; i++) {
    const res = await http.request({
      path: '/api/admin/users',
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${load.userPrefix ?? 'bench'}${i}`, role: 'trader', openingCash: 100_000_000 }),
    });
    tokens.push(((await res.body.json()) as { token: string }).token);
  }
  const quotes = await http.request({ path: `/api/market-data/quotes?symbols=${SYMBOLS.join(',')}`, method: 'GET', headers: { authorization: `Bearer ${tokens[0]}` } });
  const bids = new Map(((await quotes.body.json()) as { quotes: { symbol: string; bid: number }[] }).quotes.map((q) => [q.symbol, q.bid]));
  const run = await drive(load, async (worker, i) => {
    const symbol = SYMBOLS[worker % SYMBOLS.length]!;
    const kind = i % 10;
    const order =
      kind < 7
        ? { symbol, side: kind % 2 === 0 ? 'buy' : 'sell', type: 'market', quantity: 1 }
        : { symbol, side: 'buy', type: 'limit', limitPrice: Math.round(bids.get(symbol)! * 95) / 100, quantity: 1, timeInForce: 'gtc' };
    try {
      const res = await http.request({
        path: '/api/orders',
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[worker % load.concurrency]}`, 'content-type': 'application/json' },
        body: JSON.stringify(order),
      });
      await res.body.dump();
      return res.statusCode === 201 ? 'ok' : res.statusCode === 422 ? 'rejected' : 'failed';
    } catch {
      return 'failed';
    }
  });
  await http.close();
  return run;
}

