/** Shared helpers for the trading suites: fresh traders, quotes set by hand, orders in one call. */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { toUnits } from '../../src/kernel/money.ts';
import type { Platform } from '../../src/platform.ts';
import type { TestPlatform } from '../support/platform.ts';

let traders = 0;

export interface Trader {
  headers: { authorization: string };
  accountId: number;
}

export async function newTrader(t: TestPlatform, openingCash = 100_000): Promise<Trader> {
  const res = await t.platform.app.inject({ method: 'POST', url: '/api/admin/users', headers: t.admin, payload: { name: `trader${process.pid}x${++traders}`, role: 'trader', openingCash } });
  if (res.statusCode !== 201) throw new Error(`cannot create trader: ${res.body}`);
  const body = res.json();
  return { headers: { authorization: `Bearer ${body.token}` }, accountId: body.accountId };
}

/** Sets the top of book and publishes the tick, as the feed would. Prices in currency units. */
export function setQuote(platform: Platform, symbol: string, q: { bid: number; ask: number; last?: number; size?: number; bidSize?: number; askSize?: number }): void {
  const { book } = platform.marketData;
  const id = platform.marketData.instrument(symbol).id;
  const bid = toUnits(q.bid);
  const ask = toUnits(q.ask);
  const last = toUnits(q.last ?? (q.bid + q.ask) / 2);
  const ts = platform.clock.now();
  const bidSize = q.bidSize ?? 1_000_000;
  const askSize = q.askSize ?? 1_000_000;
  book.update(id, bid, ask, last, q.size ?? 100, ts, bidSize, askSize);
  platform.bus.publish(`quote.${symbol}`, { id, symbol, bid, ask, last, size: q.size ?? 100, ts, bidSize, askSize });
}

export function place(t: TestPlatform, trader: Trader, payload: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return t.platform.app.inject({ method: 'POST', url: '/api/orders', headers: trader.headers, payload });
}

export function call(t: TestPlatform, trader: Trader, options: InjectOptions): Promise<LightMyRequestResponse> {
  return t.platform.app.inject({ ...options, headers: { ...trader.headers, ...options.headers } });
}
