/** The trading view: search, a live watchlist, the chart, the order ticket, orders and the portfolio. */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { LiveConnection, type ConnectionState } from '../live.ts';
import { storedToken } from '../session.ts';
import { PriceChart } from './chart.tsx';
import { EquityCurve } from './equity-curve.tsx';
import { OrderTicket } from './order-ticket.tsx';
import { money, OPEN_STATUSES, PRICE_SCALE, type Instrument, type Order, type Portfolio, type Tick } from './types.ts';

/** A quote not updated for this long is shown as stale (the feed or the connection may be gone). */
const STALE_AFTER_MS = 10_000;
const DEFAULT_WATCHLIST = ['AAPL', 'MSFT', 'NVDA'];

interface Quote extends Tick {
  receivedAt: number;
  direction: 'up' | 'down' | '';
}

export function TradingView() {
  const live = useMemo(() => new LiveConnection(storedToken() ?? ''), []);
  const [connection, setConnection] = useState<ConnectionState>(live.state);
  const [watchlist, setWatchlist] = useState<Instrument[]>([]);
  const [selected, setSelected] = useState<string>(DEFAULT_WATCHLIST[0]!);
  const [quotes, setQuotes] = useState<Record<string, Quote>>({});
  const [orders, setOrders] = useState<Order[]>([]);
  const [portfolio, setPortfolio] = useState<Portfolio>();
  const [now, setNow] = useState(Date.now());

  const refreshPortfolio = useCallback(() => {
    api<Portfolio>('/api/portfolio').then(setPortfolio, () => {});
  }, []);
  const upsertOrder = useCallback((order: Order) => setOrders((list) => [order, ...list.filter((o) => o.id !== order.id)].sort((a, b) => b.id - a.id).slice(0, 50)), []);

  useEffect(() => {
    const offState = live.onState(setConnection);
    const offMessage = live.onMessage((message) => {
      if (message.channel.startsWith('quotes:')) {
        const tick = message.data as Tick;
        setQuotes((all) => {
          const previous = all[tick.symbol];
          const direction = previous ? (tick.last > previous.last ? 'up' : tick.last < previous.last ? 'down' : previous.direction) : '';
          return { ...all, [tick.symbol]: { ...tick, receivedAt: Date.now(), direction } };
        });
      } else if (message.channel.startsWith('orders') && message.event === 'order') {
        upsertOrder((message.data as { order: Order }).order);
      } else if (message.channel.startsWith('portfolio') && message.event !== 'snapshot') {
        refreshPortfolio();
      }
    });
    live.subscribe(['orders', 'portfolio']);
    api<{ items: Order[] }>('/api/orders?limit=50').then((page) => setOrders(page.items), () => {});
    refreshPortfolio();
    // Stale marks and P&L at live prices: a slow clock is enough.
    const timer = setInterval(() => setNow(Date.now()), 1000);
    const portfolioTimer = setInterval(refreshPortfolio, 5000);
    Promise.all(DEFAULT_WATCHLIST.map((s) => api<{ items: Instrument[] }>(`/api/instruments?search=${s}&limit=1`).then((r) => r.items.find((i) => i.symbol === s))))
      .then((found) => add(found.filter((i): i is Instrument => i !== undefined)))
      .catch(() => {});
    return () => {
      offState();
      offMessage();
      clearInterval(timer);
      clearInterval(portfolioTimer);
      live.close();
    };
  }, []);

  const add = (instruments: Instrument[]) => {
    setWatchlist((list) => [...list, ...instruments.filter((i) => !list.some((w) => w.symbol === i.symbol))]);
    live.subscribe(instruments.map((i) => `quotes:${i.symbol}`));
  };
  const remove = (symbol: string) => {
    setWatchlist((list) => list.filter((i) => i.symbol !== symbol));
    live.unsubscribe([`quotes:${symbol}`]);
  };
  const cancel = (id: number) => api<Order>(`/api/orders/${id}`, { method: 'DELETE' }).then(upsertOrder, (e: Error) => alert(e.message));
  const instrument = watchlist.find((i) => i.symbol === selected);
  const selectedQuote = quotes[selected];

  return (
    <main>
      <section>
        <h2>
          Watchlist <span class={`status ${connection === 'open' ? 'ok' : 'error'}`} data-testid="connection">{connection === 'open' ? 'live' : connection}</span>
        </h2>
        <InstrumentSearch onPick={(i) => { add([i]); setSelected(i.symbol); }} />
        <table data-testid="watchlist">
          <thead><tr><th>Symbol</th><th>Bid</th><th>Ask</th><th>Last</th><th /></tr></thead>
          <tbody>
            {watchlist.map((i) => {
              const q = quotes[i.symbol];
              const stale = !q || connection !== 'open' || now - q.receivedAt > STALE_AFTER_MS;
              return (
                <tr key={i.symbol} class={`${i.symbol === selected ? 'selected' : ''} ${stale ? 'stale' : ''}`} data-symbol={i.symbol} data-stale={String(stale)} onClick={() => setSelected(i.symbol)}>
                  <td>{i.symbol}</td>
                  <td>{q ? (q.bid / PRICE_SCALE).toFixed(2) : '–'}</td>
                  <td>{q ? (q.ask / PRICE_SCALE).toFixed(2) : '–'}</td>
                  <td class={q?.direction} data-testid="last">{q ? (q.last / PRICE_SCALE).toFixed(2) : '–'}</td>
                  <td><button title={`remove ${i.symbol}`} onClick={(e) => { e.stopPropagation(); remove(i.symbol); }}>×</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      <OrderTicket instrument={instrument} onPlaced={(o) => { upsertOrder(o); refreshPortfolio(); }} />
      <PriceChart symbol={selected} last={selectedQuote && selectedQuote.last / PRICE_SCALE} />
      <section>
        <h2>Orders</h2>
        <table data-testid="orders">
          <thead><tr><th>Id</th><th>Symbol</th><th>Side</th><th>Qty</th><th>Filled</th><th>Price</th><th>Status</th><th /></tr></thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.id} data-order-id={o.id}>
                <td>{o.id}</td>
                <td>{o.symbol}</td>
                <td class={o.side === 'buy' ? 'up' : 'down'}>{o.side}</td>
                <td>{o.quantity}</td>
                <td>{o.filledQuantity}</td>
                <td>{o.averageFillPrice ?? o.limitPrice ?? 'mkt'}</td>
                <td title={o.rejectMessage ?? undefined}>{o.status.replace('_', ' ')}</td>
                <td>{OPEN_STATUSES.has(o.status) && <button onClick={() => cancel(o.id)}>Cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Positions and P&amp;L</h2>
        {portfolio && (
          <>
            <div class="tiles">
              <div class="tile">Equity<b>{money(portfolio.equity)}</b></div>
              <div class="tile">Cash<b>{money(portfolio.cash)}</b></div>
              <div class="tile">Unrealized<b class={portfolio.unrealizedPnl >= 0 ? 'up' : 'down'}>{money(portfolio.unrealizedPnl)}</b></div>
              <div class="tile">Day<b class={portfolio.dayChange >= 0 ? 'up' : 'down'}>{money(portfolio.dayChange)}</b></div>
            </div>
            <table data-testid="positions">
              <thead><tr><th>Symbol</th><th>Qty</th><th>Avg</th><th>Last</th><th>Value</th><th>P&amp;L</th></tr></thead>
              <tbody>
                {portfolio.positions.map((p) => {
                  const q = quotes[p.symbol];
                  // At the live quote when the watchlist has one, else at the server's last valuation.
                  const last = q ? q.last / PRICE_SCALE : p.lastPrice;
                  const pnl = (last - p.averagePrice) * p.quantity;
                  return (
                    <tr key={p.symbol} data-symbol={p.symbol}>
                      <td>{p.symbol}</td>
                      <td>{p.quantity}</td>
                      <td>{p.averagePrice.toFixed(2)}</td>
                      <td>{last.toFixed(2)}</td>
                      <td>{money(last * p.quantity)}</td>
                      <td class={pnl >= 0 ? 'up' : 'down'}>{money(pnl)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </>
        )}
      </section>
      <EquityCurve equity={portfolio?.equity} />
    </main>
  );
}

function InstrumentSearch({ onPick }: { onPick: (instrument: Instrument) => void }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Instrument[]>([]);
  useEffect(() => {
    const search = query.trim();
    if (!search) return setResults([]);
    let current = true;
    // Typing pauses before asking: one request per word, not per key.
    const timer = setTimeout(() => {
      api<{ items: Instrument[] }>(`/api/instruments?search=${encodeURIComponent(search)}&limit=20`).then((r) => current && setResults(r.items), () => {});
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query]);
  return (
    <div>
      <input type="search" placeholder="Search 2,000+ symbols" aria-label="search instruments" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {results.length > 0 && (
        <ul class="results" data-testid="search-results">
          {results.map((i) => (
            <li key={i.symbol}>
              <button onClick={() => { onPick(i); setQuery(''); }}>{i.symbol}</button> <span class="muted">{i.name}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
