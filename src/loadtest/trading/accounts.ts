/**
 * Setup: one trader account (user + token + paper cash) per VU, created through the admin API, and
 * the symbols the run trades. Each VU trading its own account keeps the correctness checks exact:
 * nobody else moves its cash or positions.
 */
import { randomBytes } from 'node:crypto';
import { BadRequestError } from '../../kernel/errors.ts';
import type { SetupContext } from '../scenario.ts';
import type { ResolvedTrading } from './config.ts';

export interface TraderAccount {
  token: string;
  accountId: number;
  openingCash: number;
}

/** What an order must respect to pass the platform's risk checks (lot and tick grids). */
export interface InstrumentInfo {
  symbol: string;
  lotSize: number;
  tickSize: number;
}

export interface TradingData {
  accounts: TraderAccount[];
  instruments: InstrumentInfo[];
  /** Only when the run samples server memory (an admin endpoint); kept in memory, never in results. */
  adminToken?: string;
}

/** Users created at once: enough to hide the round trip, few enough not to queue behind the rate limit. */
const CREATE_CONCURRENCY = 8;

export async function createTraders(ctx: SetupContext, config: ResolvedTrading): Promise<TradingData> {
  const adminToken = ctx.env.TACHYON_ADMIN_TOKEN;
  if (!adminToken) throw new BadRequestError('the trading scenarios create one account per VU: give an admin token (--admin-token TOKEN, or TACHYON_ADMIN_TOKEN; `tachyon users token --name admin` shows the demo one)');
  const headers = { authorization: `Bearer ${adminToken}` };
  const instruments = await tradableInstruments(ctx, headers, config);
  const run = randomBytes(4).toString('hex');
  const accounts: TraderAccount[] = new Array(ctx.vus);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < ctx.vus; i = next++) {
      const res = await ctx.http.post('/api/admin/users', { name: `loadtest-${run}-${i + 1}`, role: 'trader', openingCash: config.openingCash }, { headers });
      if (res.status !== 201) throw setupError(ctx, `creating VU account ${i + 1}`, res);
      const created = res.json<{ token: string; accountId: number }>();
      accounts[i] = { token: created.token, accountId: created.accountId, openingCash: config.openingCash };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, ctx.vus) }, worker));
  return { accounts, instruments, ...(config.memorySampleMs > 0 ? { adminToken } : {}) };
}

/** A failed setup call as one line that says what to fix: these are the user's to fix, not bugs. */
function setupError(ctx: SetupContext, what: string, res: { status: number; error?: string; body: string }): BadRequestError {
  if (res.status === 0) return new BadRequestError(`${what}: cannot reach ${ctx.target} (${res.error ?? 'no answer'}); start the platform (npm start) or pass --target URL`);
  if (res.status === 401 || res.status === 403) return new BadRequestError(`${what}: HTTP ${res.status}, the admin token was refused; pass an admin token of that platform (--admin-token)`);
  return new BadRequestError(`${what}: HTTP ${res.status} ${res.error ?? res.body.slice(0, 200)}`);
}

/** Instruments listed per page at most (the API's limit): configured symbols must be among the first this many. */
const LISTED = 1000;

async function tradableInstruments(ctx: SetupContext, headers: Record<string, string>, config: ResolvedTrading): Promise<InstrumentInfo[]> {
  const res = await ctx.http.get(`/api/instruments?limit=${LISTED}`, { headers });
  if (res.status !== 200) throw setupError(ctx, 'listing instruments', res);
  const listed = res.json<{ items: Array<InstrumentInfo & { tradable: boolean }> }>().items.filter((i) => i.tradable);
  if (!config.symbols) {
    if (listed.length === 0) throw new Error('the platform lists no tradable instruments');
    return listed.slice(0, config.universe).map(({ symbol, lotSize, tickSize }) => ({ symbol, lotSize, tickSize }));
  }
  const bySymbol = new Map(listed.map((i) => [i.symbol, i]));
  return config.symbols.map((symbol) => {
    const found = bySymbol.get(symbol);
    if (!found) throw new Error(`symbol ${symbol} is not among the first ${LISTED} tradable instruments`);
    return { symbol, lotSize: found.lotSize, tickSize: found.tickSize };
  });
}
