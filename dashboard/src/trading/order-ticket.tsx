/** The order ticket: checked against the instrument's lot and tick size before sending; the server's refusals shown as it words them. */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import type { Instrument, Order } from './types.ts';

/** What is wrong with the ticket before it is sent, or undefined. Prices are compared on the 1/10,000 grid the server uses. */
export function ticketProblem(instrument: Instrument, quantity: number, type: string, limitPrice: number): string | undefined {
  if (!Number.isInteger(quantity) || quantity <= 0) return 'Quantity must be a positive whole number.';
  if (quantity % instrument.lotSize !== 0) return `Quantity must be a multiple of the lot size (${instrument.lotSize}).`;
  if (type === 'limit') {
    if (!(limitPrice > 0)) return 'A limit order needs a positive limit price.';
    const units = Math.round(limitPrice * 10_000);
    const tick = Math.round(instrument.tickSize * 10_000);
    if (Math.abs(units - limitPrice * 10_000) > 1e-6 || units % tick !== 0) return `The limit price must be a multiple of the tick size (${instrument.tickSize}).`;
  }
  return undefined;
}

export function OrderTicket({ instrument, onPlaced }: { instrument: Instrument | undefined; onPlaced: (order: Order) => void }) {
  const [side, setSide] = useState<'buy' | 'sell'>('buy');
  const [type, setType] = useState<'market' | 'limit'>('market');
  const [quantity, setQuantity] = useState('');
  const [limitPrice, setLimitPrice] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string }>();
  const [busy, setBusy] = useState(false);

  if (!instrument) return <section><h2>Order ticket</h2><p class="muted">Pick an instrument.</p></section>;
  const submit = async (event: Event) => {
    event.preventDefault();
    const problem = ticketProblem(instrument, Number(quantity), type, Number(limitPrice));
    if (problem) return setMessage({ error: true, text: problem });
    setBusy(true);
    setMessage(undefined);
    try {
      const body = { symbol: instrument.symbol, side, type, quantity: Number(quantity), timeInForce: 'day', ...(type === 'limit' ? { limitPrice: Number(limitPrice) } : {}) };
      const order = await api<Order>('/api/orders', { method: 'POST', body });
      setMessage({ error: false, text: `Order ${order.id} ${order.status.replace('_', ' ')}` });
      onPlaced(order);
    } catch (e) {
      // The server's own words: a 422 names the risk rule that refused the order.
      const text = e instanceof ApiError ? `${e.problem.detail ?? e.message}${e.problem.code ? ` (${e.problem.code})` : ''}` : String(e);
      setMessage({ error: true, text });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h2>Order ticket: {instrument.symbol}</h2>
      <form class="row" onSubmit={submit} aria-label="order ticket">
        <select name="side" value={side} onChange={(e) => setSide(e.currentTarget.value as 'buy' | 'sell')}>
          <option value="buy">Buy</option>
          <option value="sell">Sell</option>
        </select>
        <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as 'market' | 'limit')}>
          <option value="market">Market</option>
          <option value="limit">Limit</option>
        </select>
        <input name="quantity" inputMode="numeric" placeholder={`qty (lot ${instrument.lotSize})`} size={10} value={quantity} onInput={(e) => setQuantity(e.currentTarget.value)} />
        {type === 'limit' && <input name="limitPrice" inputMode="decimal" placeholder={`price (tick ${instrument.tickSize})`} size={10} value={limitPrice} onInput={(e) => setLimitPrice(e.currentTarget.value)} />}
        <button class="primary" type="submit" disabled={busy}>
          {side === 'buy' ? 'Buy' : 'Sell'}
        </button>
      </form>
      {message && (
        <p class={message.error ? 'error' : 'ok'} role="status" data-testid="ticket-message">
          {message.text}
        </p>
      )}
    </section>
  );
}
