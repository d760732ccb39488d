import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { BUILTIN_SCENARIOS, scenarioPath } from '../../src/loadtest/builtin.ts';
import { DEFAULT_GUARDRAILS } from '../../src/loadtest/guardrails.ts';
import { importScenario, scenarioUrl } from '../../src/loadtest/load-scenario.ts';
import { planOf } from '../../src/loadtest/plan.ts';
import { enforceGuardrails } from '../../src/loadtest/run.ts';
import { parseThresholds } from '../../src/loadtest/thresholds.ts';
import { picker, resolveTrading, splitConfig } from '../../src/loadtest/trading/config.ts';
import { reconcile } from '../../src/loadtest/trading/verify.ts';

describe('built-in scenarios', () => {
  it.each(BUILTIN_SCENARIOS)('%s loads, plans within the default guardrails and carries the correctness thresholds', async (name) => {
    const scenario = await importScenario(scenarioUrl(scenarioPath(name)));
    const plan = planOf(scenario.options.executor);
    expect(() => enforceGuardrails(DEFAULT_GUARDRAILS, new URL('http://127.0.0.1:3000'), plan, 1)).not.toThrow();
    const keys = parseThresholds(scenario.options.thresholds).map((t) => t.key);
    // The websocket scenario only subscribes to quotes (seed 004's 1,000 sessions): its correctness is the quote stream's.
    const correctness = name === 'websocket' ? ['ws_connect_failed', 'ws_seq_gaps{channel:quotes}'] : ['orders_missing', 'portfolio_mismatches', 'ws_seq_gaps{channel:orders}'];
    expect(keys).toEqual(expect.arrayContaining(correctness));
    expect(scenario.setup).toBeTypeOf('function');
    expect(scenario.vuTeardown).toBeTypeOf('function');
  });

  it('spike goes from 0 to its peak in 30 s', async () => {
    const { options } = await importScenario(scenarioUrl(scenarioPath('spike')));
    expect(options.executor).toMatchObject({ type: 'ramping-vus', startVUs: 0, stages: [{ duration: '30s', target: 500 }, expect.anything(), expect.anything()] });
  });

  it('loads a YAML scenario into the same shape, and names a bad setting', async () => {
    const scenario = await importScenario(scenarioUrl(fileURLToPath(new URL('../../scenarios/example.yaml', import.meta.url))));
    expect(scenario.options.executor).toEqual({ type: 'constant-arrival-rate', rate: 50, duration: '30s', maxVUs: 50 });
    expect(scenario.options.thresholds?.order_ack_latency).toEqual(['p(99)<50']);
    expect(() => splitConfig({ executor: { type: 'constant-vus', vus: 1, duration: '1s' }, wieghts: {} } as never)).toThrow(/unknown scenario setting "wieghts"/);
    expect(() => scenarioPath('nope')).toThrow(/neither a built-in/);
  });
});

describe('trading mix', () => {
  it('picks operations in proportion to their weights and never picks a zero weight', () => {
    const { weights } = resolveTrading({ weights: { quote: 3, portfolio: 1, bars: 0, marketOrder: 0, limitOrder: 0, strategies: 0, backtest: 0, prediction: 0, history: 0 } });
    const pick = picker(weights);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const op = pick(i / 1000);
      counts[op] = (counts[op] ?? 0) + 1;
    }
    expect(counts).toEqual({ quote: 750, portfolio: 250 });
  });

  it('rejects unknown operations, negative weights and an all-zero mix', () => {
    expect(() => resolveTrading({ weights: { teleport: 1 } as never })).toThrow(/unknown operation/);
    expect(() => resolveTrading({ weights: { quote: -1 } })).toThrow(/≥ 0/);
    expect(() => resolveTrading({ weights: { quote: 0, bars: 0, portfolio: 0, marketOrder: 0, limitOrder: 0, strategies: 0, backtest: 0, prediction: 0, history: 0 } })).toThrow(/positive weight/);
  });

  it('reconciles cash and positions from the account\'s own orders', () => {
    const orders = [
      { id: 1, symbol: 'AAPL', side: 'buy' as const, status: 'filled', filledQuantity: 10, averageFillPrice: 100.5 },
      { id: 2, symbol: 'AAPL', side: 'sell' as const, status: 'filled', filledQuantity: 4, averageFillPrice: 101 },
      { id: 3, symbol: 'MSFT', side: 'buy' as const, status: 'cancelled', filledQuantity: 0, averageFillPrice: null },
    ];
    const cash = 1000 - 1005 + 404;
    expect(reconcile(1000, orders, { cash, positions: [{ symbol: 'AAPL', quantity: 6 }] })).toEqual([]);
    expect(reconcile(1000, orders, { cash: cash - 1, positions: [{ symbol: 'AAPL', quantity: 6 }] })).toEqual([expect.stringMatching(/^cash/)]);
    expect(reconcile(1000, orders, { cash, positions: [{ symbol: 'AAPL', quantity: 7 }, { symbol: 'TSLA', quantity: 1 }] })).toHaveLength(2);
  });
});
