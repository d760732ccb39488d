/**
 * Setup: one trader account (user + token + paper cash) per VU through the admin API, and the
 * symbols the run trades. Each VU trading its own account keeps the correctness checks exact:
 * nobody else moves its cash or positions. The accounts are reused from run to run (`loadtest-vu-N`,
 * a fresh token replacing the previous run's), so a target does not collect a user per VU per run:
 * a reused account starts from its current cash and positions, its leftover open orders cancelled.
 * Two runs at once against one target would share accounts: run them one after the other.
 */
import { randomBytes } from 'node:crypto';
import { BadRequestError } from '../../kernel/errors.ts';
import type { SetupContext } from '../scenario.ts';
import type { ResolvedTrading } from './config.ts';

export interface TraderAccount {
  token: string;
  accountId: number;
  openingCash: number;
  /** Shares held per symbol when the run starts (a reused account's earlier runs). */
  openingPositions: Record<string, number>;
}

/** What an order must respect to pass the platform's risk checks (lot and tick grids). */
export interface InstrumentInfo {
  symbol: string;
  lotSize: number;
  tickSize: number;
}

export interface TradingData {
  accounts: TraderAccount[];
  /** Names this run in client order ids: reused accounts keep the earlier runs' ids. */
  runId: string;
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
  const accounts: TraderAccount[] = new Array(ctx.vus);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < ctx.vus; i = next++) accounts[i] = await traderFor(ctx, headers, `${VU_USER_PREFIX}${i + 1}`, config.openingCash);
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, ctx.vus) }, worker));
  return { accounts, runId: randomBytes(4).toString('hex'), instruments, ...(config.memorySampleMs > 0 ? { adminToken } : {}) };
}

/** VU accounts are `loadtest-vu-1` … `loadtest-vu-N`, the same on every run. */
export const VU_USER_PREFIX = 'loadtest-vu-';

/** Creates the VU's user, or takes it over with a fresh token and starts from its current state. */
async function traderFor(ctx: SetupContext, headers: Record<string, string>, name: string, openingCash: number): Promise<TraderAccount> {
  const created = await ctx.http.post('/api/admin/users', { name, role: 'trader', openingCash }, { headers });
  if (created.status === 201) {
    const user = created.json<{ token: string; accountId: number }>();
    return { token: user.token, accountId: user.accountId, openingCash, openingPositions: {} };
  }
  if (created.status !== 409) throw setupError(ctx, `creating VU account ${name}`, created);
  const issued = await ctx.http.post(`/api/admin/users/${name}/tokens`, { label: 'loadtest', replace: true }, { headers });
  if (issued.status !== 201) throw setupError(ctx, `taking over VU account ${name}`, issued);
  const { token, accountId } = issued.json<{ token: string; accountId?: number }>();
  if (accountId === undefined) throw new BadRequestError(`user ${name} exists but has no trading account: remove it or use another target`);
  const auth = { authorization: `Bearer ${token}` };
  // An interrupted earlier run may have left orders working: they must not fill during this one.
  for (const status of ['accepted', 'partially_filled']) {
    const open = await ctx.http.get(`/api/orders?status=${status}&limit=500`, { headers: auth });
    if (open.status !== 200) throw setupError(ctx, `listing ${name}'s open orders`, open);
    for (const order of open.json<{ items: Array<{ id: number }> }>().items) await ctx.http.delete(`/api/orders/${order.id}`, { headers: auth });
  }
  const portfolio = await ctx.http.get('/api/portfolio', { headers: auth });
  if (portfolio.status !== 200) throw setupError(ctx, `reading ${name}'s portfolio`, portfolio);
  const { cash, positions } = portfolio.json<{ cash: number; positions: Array<{ symbol: string; quantity: number }> }>();
  return { token, accountId, openingCash: cash, openingPositions: Object.fromEntries(positions.map((p) => [p.symbol, p.quantity])) };
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
