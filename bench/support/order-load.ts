/** The order load shared by bench:orders, bench:advisor and bench:cluster. */
import { Pool } from 'undici';
import { drive, type LoadOptions, type Run } from './closed-loop.ts';
import { BENCH_ADMIN_TOKEN } from './processes.ts';

const SYMBOLS = ['AAPL', 'MSFT', 'AMZN', 'GOOGL', 'META', 'NVDA', 'TSLA', 'JPM'];

export interface Trader {
  token: string;
  accountId: number;
}

/** Creates `count` funded trader accounts through the admin API at `url`. */
export async function createTraders(url: string, count: number, prefix = 'bench'): Promise<Trader[]> {
  const http = new Pool(url, { connections: 4 });
  try {
    const traders: Trader[] = [];
    for (let i = 0; i < count; i++) {
      const res = await http.request({
        path: '/api/admin/users',
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${prefix}${i}`, role: 'trader', openingCash: 100_000_000 }),
      });
      if (res.statusCode !== 201) throw new Error(`creating trader ${prefix}${i} answered ${res.statusCode}: ${await res.body.text()}`);
      traders.push((await res.body.json()) as Trader);
    }
    return traders;
  } finally {
    await http.close();
  }
}

/**
 * The order mix of bench:orders: one trader account per loop, 70% market orders (alternating buy
 * and sell, quantity 1) and 30% resting limit buys 5% below the bid. Sent to `url`, or per loop to
 * `options.target(worker)` (bench:cluster aims each account at its owner or at another instance).
 */
export async function orderLoad(
  url: string,
  load: LoadOptions & { userPrefix?: string },
  options: { traders?: Trader[]; target?: (worker: number) => string } = {},
): Promise<Run> {
  const traders = options.traders ?? (await createTraders(url, load.concurrency, load.userPrefix));
  const pools = new Map<string, Pool>();
  const pool = (target: string) => {
    let p = pools.get(target);
    if (!p) pools.set(target, (p = new Pool(target, { connections: load.concurrency, pipelining: 1 })));
    return p;
  };
  const askQuotes = () => pool(url).request({ path: `/api/market-data/quotes?symbols=${SYMBOLS.join(',')}`, method: 'GET', headers: { authorization: `Bearer ${traders[0]!.token}` } });
  let quotes = await askQuotes();
  // A server just resumed from SIGSTOP, or starved on a loaded machine, may shed a second's requests
  // (an event-loop sample without a single tick counts as infinite delay): ask again, for a while.
  for (let attempt = 0; attempt < 50 && quotes.statusCode === 503; attempt++) {
    await quotes.body.dump();
    await new Promise((resolve) => setTimeout(resolve, 200));
    quotes = await askQuotes();
  }
  if (quotes.statusCode !== 200) throw new Error(`quotes answered ${quotes.statusCode}: ${await quotes.body.text()}`);
  const bids = new Map(((await quotes.body.json()) as { quotes: { symbol: string; bid: number }[] }).quotes.map((q) => [q.symbol, q.bid]));
  const run = await drive(load, async (worker, i) => {
    const symbol = SYMBOLS[worker % SYMBOLS.length]!;
    const kind = i % 10;
    const order =
      kind < 7
        ? { symbol, side: kind % 2 === 0 ? 'buy' : 'sell', type: 'market', quantity: 1 }
        : { symbol, side: 'buy', type: 'limit', limitPrice: Math.round(bids.get(symbol)! * 95) / 100, quantity: 1, timeInForce: 'gtc' };
    try {
      const res = await pool(options.target?.(worker) ?? url).request({
        path: '/api/orders',
        method: 'POST',
        headers: { authorization: `Bearer ${traders[worker % traders.length]!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(order),
      });
      await res.body.dump();
      return res.statusCode === 201 ? 'ok' : res.statusCode === 422 ? 'rejected' : 'failed';
    } catch {
      return 'failed';
    }
  });
  await Promise.all([...pools.values()].map((p) => p.close()));
  return run;
}
