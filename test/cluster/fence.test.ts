/**
 * The fence, in-process on both engines: a batch written under an epoch this instance no longer
 * holds writes nothing and fails with FencedError; the engine then drops the lost shard's accounts
 * instead of trading on them (snapshots of it come from the database), and takes the shard again
 * (new epoch, reloaded) once it is free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineAccountSnapshots } from '../../src/realtime/snapshots.ts';
import { FencedError, Journal } from '../../src/trading/journal.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import { engines } from '../support/engines.ts';
import { secondFreeWhileWaitingOnFirst } from '../support/lock-order.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, newTrader, place, setQuote } from '../trading/helpers.ts';


describe.each(await engines())('fencing on $name', (engine) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  const count = async (sql: string, params: unknown[]) => Number((await t.platform.db.query<{ n: string }>(sql, params)).rows[0]!.n);

  it('a batch under a stale epoch writes nothing and fails with FencedError', async () => {
    const { db, ownership } = t.platform;
    const trader = await newTrader(t);
    const lease = ownership.leaseOf(ownership.shardOf(trader.accountId));
    const epoch = ownership.epochOf(ownership.shardOf(trader.accountId))!;
    expect(epoch).toBeGreaterThan(0);
    const failures: unknown[] = [];
    const journal = (at: number) =>
      new Journal(db, { maxBatchRows: 1_000, maxWaitMs: 0, onFailure: (error) => failures.push(error), fence: { holder: ownership.holder, lease: () => lease, epoch: () => at } });
    const cashBefore = (await db.query<{ cash: string }>('SELECT cash FROM accounts WHERE id = $1', [trader.accountId])).rows[0]!.cash;

    const stale = journal(epoch - 1);
    stale.cash({ id: 9_000_000_001, accountId: trader.accountId, amount: -1, balanceAfter: 0, refId: 9_000_000_001, ts: Date.now() });
    stale.account(trader.accountId, 0);
    await expect(stale.durable()).rejects.toBeInstanceOf(FencedError);
    expect(failures).toHaveLength(1);
    expect(stale.metrics()).toMatchObject({ batches: 0, failures: 1, fencedBatches: 1 });
    expect(await count('SELECT count(*) AS n FROM cash_transactions WHERE id = 9000000001', [])).toBe(0);
    expect((await db.query<{ cash: string }>('SELECT cash FROM accounts WHERE id = $1', [trader.accountId])).rows[0]!.cash).toBe(cashBefore);

    // The same rows under the held epoch commit (the fence is what refused them).
    const current = journal(epoch);
    current.cash({ id: 9_000_000_002, accountId: trader.accountId, amount: 0, balanceAfter: Number(cashBefore), refId: 9_000_000_002, ts: Date.now() });
    await current.durable();
    expect(current.metrics()).toMatchObject({ batches: 1, rows: 1, failures: 0, fencedBatches: 0, batchRows: { p50: 1, p99: 1, max: 1 } });
    expect(await count('SELECT count(*) AS n FROM cash_transactions WHERE id = 9000000002', [])).toBe(1);
    await db.query('DELETE FROM cash_transactions WHERE id = 9000000002');
  });

  it.runIf(engine.name === 'postgres')('the fence locks the leases of a batch in name order (as lease renewals do: no deadlock)', async () => {
    const { db, ownership } = t.platform;
    const traders = [await newTrader(t), await newTrader(t), await newTrader(t)];
    const leases = [...new Map(traders.map((tr) => [ownership.leaseOf(ownership.shardOf(tr.accountId)), tr])).entries()].sort(([x], [y]) => (x < y ? -1 : 1));
    expect(leases.length).toBeGreaterThanOrEqual(2);
    const [[first, low], [second, high]] = leases as [[string, (typeof traders)[0]], [string, (typeof traders)[0]]];
    const epochs = new Map([[low.accountId, ownership.epochOf(ownership.shardOf(low.accountId))!], [high.accountId, ownership.epochOf(ownership.shardOf(high.accountId))!]]);
    const journal = new Journal(db, {
      maxBatchRows: 1_000,
      maxWaitMs: 0,
      onFailure: () => {},
      fence: { holder: ownership.holder, lease: (id) => ownership.leaseOf(ownership.shardOf(id)), epoch: (id) => epochs.get(id)! },
    });
    const batch = () => {
      // The higher-named lease first: a fence locking in the batch's own order would take it first.
      for (const [i, trader] of [high, low].entries()) journal.cash({ id: 9_100_000_001 + i, accountId: trader.accountId, amount: 0, balanceAfter: 100_000, refId: 9_100_000_001 + i, ts: Date.now() });
      return journal.durable();
    };
    expect(await secondFreeWhileWaitingOnFirst(t.platform.config.databaseUrl!, 'cluster_leases', { first, second }, batch)).toBe(true);
    await db.query('DELETE FROM cash_transactions WHERE id IN (9100000001, 9100000002)');
  });

  // A command reaching an account's lane once its hand-back had settled the lane used to trade on the account
  // and be journaled after it: the batch was fenced, the engine halted, and every order in the batch answered
  // 503 "the database commit failed" (CI, 2026-11-26: nine orders at a canary's promotion).
  it('a hand-back refuses commands that arrive once it began (account_moving, nothing written)', async () => {
    const { ownership, trading } = t.platform;
    const trader = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    const order = (clientOrderId: string) => ({ symbol: 'AAPL', side: 'buy' as const, type: 'market' as const, quantity: 1, timeInForce: 'day' as const, limitPrice: null, stopPrice: null, clientOrderId });
    await trading.engine.place(trader.accountId, order('before'));
    const shard = ownership.shardOf(trader.accountId);
    const epoch = ownership.epochOf(shard)!;

    const handBack = trading.engine.shardsLost([shard]);
    const late = trading.engine.place(trader.accountId, order('after')).then(
      () => 'placed',
      (error: unknown) => (error as { code?: string }).code,
    );
    await handBack;
    expect(await late).toBe('account_moving');
    expect(await count(`SELECT count(*) AS n FROM orders WHERE account_id = $1 AND client_order_id = 'after'`, [trader.accountId])).toBe(0);
    expect(trading.engine.owns(trader.accountId)).toBe(false);
    // Still this instance's lease: the next command loads the account again.
    await trading.engine.shardsAcquired(new Map([[shard, epoch]]));
    expect((await trading.engine.place(trader.accountId, order('after'))).order.status).toBe('filled');
    expect((await reconcile(t.platform.db)).problems).toEqual([]);
  });

  it('another instance taking the shard: the engine commits nothing more for the account, drops it, and takes it back once it is free', async () => {
    const { db, ownership, trading } = t.platform;
    const trader = await newTrader(t);
    const lease = ownership.leaseOf(ownership.shardOf(trader.accountId));
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 })).statusCode).toBe(201);
    expect(trading.engine.owns(trader.accountId)).toBe(true);

    // What a takeover does to the row (another holder, a new epoch), while this engine still has the account loaded.
    await db.query(`UPDATE cluster_leases SET holder = 'someone-else', epoch = epoch + 1, expires_at = now() + interval '1 hour', address = NULL WHERE name = $1`, [lease]);
    const refused = await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5, clientOrderId: 'after-takeover' });
    expect(refused.statusCode).toBe(503);
    expect(await count('SELECT count(*) AS n FROM orders WHERE account_id = $1', [trader.accountId])).toBe(1);
    await expect.poll(() => trading.engine.running, { timeout: 10_000, interval: 50 }).toBe(true);
    expect(trading.engine.owns(trader.accountId)).toBe(false);
    expect([...trading.engine.loadedAccounts()].some((a) => a.id === trader.accountId)).toBe(false);
    // Not forwarded anywhere (the holder has no address), not served from a stale copy.
    expect((await call(t, trader, { url: '/api/portfolio' })).statusCode).toBe(503);
    // WebSocket snapshots of an account owned elsewhere come from the database (what its owner committed).
    const snapshots = new EngineAccountSnapshots(trading.engine, t.platform.marketData);
    expect(await snapshots.portfolio(trader.accountId)).toMatchObject({ cash: 100_000 - 1000.1, positions: [{ symbol: 'AAPL', quantity: 10 }] });
    expect(await snapshots.orders(trader.accountId)).toEqual({ accountId: trader.accountId, openOrders: [] });

    // The other holder lets go: the next command takes the shard under a newer epoch and trades on the reloaded account.
    await db.query(`UPDATE cluster_leases SET expires_at = now() - interval '1 second' WHERE name = $1`, [lease]);
    await expect
      .poll(async () => (await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5, clientOrderId: 'after-takeover' })).statusCode, { timeout: 10_000, interval: 200 })
      .toBe(201);
    expect(trading.engine.owns(trader.accountId)).toBe(true);
    expect(ownership.epochOf(ownership.shardOf(trader.accountId))).toBeGreaterThan(1);
    const portfolio = (await call(t, trader, { url: '/api/portfolio' })).json();
    expect(portfolio.positions[0].quantity).toBe(15);
    expect(await count('SELECT count(*) AS n FROM orders WHERE account_id = $1', [trader.accountId])).toBe(2);
    expect((await reconcile(db)).problems).toEqual([]);
  });
});

