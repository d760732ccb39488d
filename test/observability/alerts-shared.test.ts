/** Alerts on a signal every instance shares (the one task queue) notify once across the cluster. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { AlertEngine, type AlertEvent } from '../../src/observability/alerts/engine.ts';
import { ALERT_RULES, type Signals } from '../../src/observability/alerts/rules.ts';

const signals: Signals = {
  httpRequestRate: () => 0,
  httpPercentileMs: () => 0,
  httpErrorRatio: () => 0,
  httpSlowRatio: () => 0,
  cpuUtilization: () => 0,
  memoryUtilization: () => 0,
  queueDepth: async () => 500, // the shared queue, as every instance reads it
  tradingHalted: async () => 0,
  leakSuspected: async () => 0,
};

describe('alerts on shared signals', () => {
  it('only the leading instance evaluates and notifies; one that stops leading drops the alert silently', async () => {
    const clock = new ManualClock();
    const sent: AlertEvent[] = [];
    let aLeads = true;
    const a = new AlertEngine(ALERT_RULES, signals, clock, async (e) => void sent.push(e), 'a', () => aLeads);
    const b = new AlertEngine(ALERT_RULES, signals, clock, async (e) => void sent.push(e), 'b', () => !aLeads);
    const rule = ALERT_RULES.find((r) => r.name === 'TachyonQueueDepthHigh')!;
    expect(rule.shared).toBe(true);

    await Promise.all([a.evaluate(), b.evaluate()]);
    clock.advance(rule.forMs);
    await Promise.all([a.evaluate(), b.evaluate()]);
    expect(sent.map((e) => [e.rule, e.state, e.instance])).toEqual([['TachyonQueueDepthHigh', 'firing', 'a']]);
    expect(b.activeAlerts()).toEqual([]);

    aLeads = false;
    await Promise.all([a.evaluate(), b.evaluate()]);
    expect(a.activeAlerts()).toEqual([]);
    expect(b.activeAlerts().map((x) => [x.rule, x.state])).toEqual([['TachyonQueueDepthHigh', 'pending']]);
    expect(sent).toHaveLength(1);
  });
});
