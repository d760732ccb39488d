/**
 * Commit failure: the waiting requests answer 503, the engine halts and rebuilds from the database,
 * then trades again with memory equal to what is durable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStateEvent } from '../../src/trading/engine-state.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, newTrader, place, setQuote } from './helpers.ts';

describe.each(await engines())('commit failure on $name', (engine) => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503, rebuilds from the database and trades on', async () => {
    const states: EngineStateEvent[] = [];
    const off = t.platform.bus.subscribe('trading.engine.state', (event) => states.push(event));
    const trader = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 10 })).statusCode).toBe(201);

    await t.platform.db.exec('ALTER TABLE executions RENAME TO executions_away');
    const failed = await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5, clientOrderId: 'during-failure' });
    expect(failed.statusCode).toBe(503);
    expect(t.platform.trading.engine.journal.stats.failures).toBe(1);
    await t.platform.db.exec('ALTER TABLE executions_away RENAME TO executions');
    await expect.poll(() => t.platform.trading.engine.running, { timeout: 10_000, interval: 100 }).toBe(true);

    // Memory was rebuilt from what committed: the failed order's fill is gone.
    const portfolio = (await call(t, trader, { url: '/api/portfolio' })).json();
    expect(portfolio.cash).toBe(100_000 - 1000.1);
    expect(portfolio.positions[0].quantity).toBe(10);
    const retry = await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5, clientOrderId: 'during-failure' });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect((await reconcile(t.platform.db)).problems).toEqual([]);

    // Observable: the state changes were announced, and the metrics tell the same story.
    off();
    expect(states[0]).toMatchObject({ state: 'halted', previous: 'active', reason: expect.stringContaining('executions') });
    expect(states.at(-1)).toMatchObject({ state: 'active', previous: 'recovering', reason: null });
    expect(states.slice(1, -1).every((e) => e.state === 'halted' || e.state === 'recovering')).toBe(true);
    const samples = await t.platform.observability.metrics.collect('trading');
    const value = (name: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('tachyon_trading_engine_state', { state: 'active' })).toBe(1);
    expect(value('tachyon_trading_engine_state', { state: 'halted' })).toBe(0);
    expect(value('tachyon_trading_engine_halts_total')).toBe(1);
    expect(value('tachyon_trading_journal_failures_total')).toBe(1);
    expect(value('tachyon_trading_journal_fenced_batches_total')).toBe(0);
    expect(value('tachyon_trading_journal_batches_total')).toBeGreaterThanOrEqual(2);
    expect(value('tachyon_trading_journal_rows_total')).toBeGreaterThan(value('tachyon_trading_journal_batches_total')!);
    expect(value('tachyon_trading_journal_batch_rows_max')).toBeGreaterThanOrEqual(value('tachyon_trading_journal_batch_rows_p50')!);
    expect(value('tachyon_trading_journal_commit_seconds_p50')).toBeGreaterThan(0);
  });

  it('retries the rebuild while the database refuses it, then trades on', { timeout: 120_000 }, async () => {
    const states: EngineStateEvent[] = [];
    const off = t.platform.bus.subscribe('trading.engine.state', (event) => states.push(event));
    const trader = await newTrader(t);
    setQuote(t.platform, 'AAPL', { bid: 99.99, ask: 100.01, last: 100 });
    // Loads the account (which reads positions) before they go.
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 1 })).statusCode).toBe(201);
    // Positions are written by a fill and read by the rebuild: both fail until the table is back.
    await t.platform.db.exec('ALTER TABLE positions RENAME TO positions_away');
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5 })).statusCode).toBe(503);
    const failedAttempts = () => states.filter((e) => e.state === 'halted' && e.previous === 'recovering').length;
    await expect.poll(failedAttempts, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect(t.platform.trading.engine.running).toBe(false);
    await t.platform.db.exec('ALTER TABLE positions_away RENAME TO positions');
    await expect.poll(() => t.platform.trading.engine.running, { timeout: 60_000, interval: 100 }).toBe(true);
    off();
    expect(states.at(-1)).toMatchObject({ state: 'active', previous: 'recovering' });
    expect(states.find((e) => e.previous === 'recovering' && e.state === 'halted')?.reason).toContain('positions');
    expect((await place(t, trader, { symbol: 'AAPL', side: 'buy', type: 'market', quantity: 5 })).statusCode).toBe(201);
    expect((await reconcile(t.platform.db)).problems).toEqual([]);
  });
});
