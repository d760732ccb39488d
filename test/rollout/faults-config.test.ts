/** TACHYON_FAULTS: faults in force from the start (how a rollout rehearses a slower build). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/kernel/errors.ts';

describe('TACHYON_FAULTS', () => {
  it('parses route classes with latency and an optional error rate, and enables fault injection', () => {
    const config = loadConfig({ TACHYON_FAULTS: 'market-data:40, orders:0:0.05' });
    expect(config.observability.faultInjection).toBe(true);
    expect(config.observability.faults).toEqual([
      { routeClass: 'market-data', latencyMs: 40, errorRate: 0 },
      { routeClass: 'orders', latencyMs: 0, errorRate: 0.05 },
    ]);
    expect(loadConfig({}).observability).toMatchObject({ faultInjection: false, faults: [] });
  });

  it('names the variable when a value is malformed', () => {
    for (const bad of ['market-data', 'market-data:fast', 'orders:0:2', 'Orders:1']) expect(() => loadConfig({ TACHYON_FAULTS: bad }), bad).toThrow(ConfigError);
    expect(() => loadConfig({ TACHYON_FAULTS: 'x' })).toThrow(/TACHYON_FAULTS="x" is invalid/);
  });
});
