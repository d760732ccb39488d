/**
 * The autoscaler's decision against a table of the Kubernetes HPA's documented behaviour
 * (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale: "Algorithm details",
 * "Configurable scaling behavior") and the controller's source for rate-limit arithmetic
 * (pkg/controller/podautoscaler/horizontal.go, calculateScaleUpLimitWithScalingRules).
 */
import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_SCALING_CONFIG, scheduledMinimum, type DecisionInput, type ScalingConfig } from '../../src/scaling/hpa.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // a Monday, 12:00 UTC
const s = 1000;

function config(patch: Partial<ScalingConfig> = {}): ScalingConfig {
  return { ...DEFAULT_SCALING_CONFIG, ...patch };
}

interface Row {
  name: string;
  input: Partial<DecisionInput> & Pick<DecisionInput, 'current' | 'metrics'>;
  desired: number;
  recommended?: number;
  limitedBy?: RegExp;
}

const table: Row[] = [
  // ---- the ratio and the tolerance ----
  { name: 'doubles when the metric is twice its target (200m vs 100m in the docs)', input: { current: 3, metrics: { cpu: 1.4 } }, desired: 6 },
  { name: 'holds within the 10% tolerance (ratio 1.07)', input: { current: 4, metrics: { cpu: 0.75 } }, desired: 4, recommended: 4 },
  { name: 'holds at exactly the tolerance (ratio 1.1)', input: { current: 4, metrics: { queueDepth: 110 } }, desired: 4 },
  { name: 'scales just outside the tolerance, rounding up (4 × 1.114 → 5)', input: { current: 4, metrics: { cpu: 0.78 } }, desired: 5 },
  { name: 'holds within the tolerance below the target too (ratio 0.93)', input: { current: 4, metrics: { cpu: 0.65 } }, desired: 4 },
  { name: 'holds without any metric', input: { current: 3, metrics: {} }, desired: 3 },
  { name: 'ignores a metric that is not a finite number', input: { current: 3, metrics: { cpu: Number.NaN, queueDepth: Infinity } }, desired: 3 },
  { name: 'ignores a metric without a target', input: { current: 2, metrics: { httpP95Ms: 5000 } }, desired: 2 },

  // ---- several metrics: the largest proposal wins ----
  { name: 'queue depth drives while CPU is within tolerance', input: { current: 2, metrics: { cpu: 0.72, queueDepth: 250 } }, desired: 5 },
  { name: 'the largest of CPU (×2) and WebSocket connections (×1.5) wins', input: { current: 2, metrics: { cpu: 1.4, websocketConnections: 15_000 } }, desired: 4 },
  { name: 'one metric over target prevents a scale-down another asks for', input: { current: 4, metrics: { cpu: 0.1, memory: 0.9 } }, desired: 6, recommended: 6 },
  { name: 'a metric within tolerance holds the count although another asks to go down', input: { current: 4, metrics: { cpu: 0.1, memory: 0.7 } }, desired: 4, recommended: 4 },

  // ---- stabilization windows ----
  {
    name: 'scale-down takes the highest recommendation of the last 300 s',
    input: { current: 4, metrics: { cpu: 0.35 }, recommendations: [{ at: NOW - 120 * s, desired: 3 }, { at: NOW - 60 * s, desired: 2 }] },
    desired: 3,
    recommended: 2,
    limitedBy: /scale-down stabilization/,
  },
  {
    name: 'a recommendation older than the scale-down window no longer counts',
    input: { current: 4, metrics: { cpu: 0.35 }, recommendations: [{ at: NOW - 301 * s, desired: 4 }] },
    desired: 2,
  },
  {
    name: 'scale-down stabilization never raises the count above the current one',
    input: { current: 4, metrics: { cpu: 0.35 }, recommendations: [{ at: NOW - 60 * s, desired: 8 }] },
    desired: 4,
    limitedBy: /scale-down stabilization/,
  },
  {
    name: 'scale-up is immediate by default (0 s window)',
    input: { current: 2, metrics: { cpu: 1.4 }, recommendations: [{ at: NOW - 1 * s, desired: 2 }] },
    desired: 4,
  },
  {
    name: 'a scale-up window takes the lowest recommendation of the window',
    input: {
      current: 2,
      metrics: { cpu: 2.8 },
      recommendations: [{ at: NOW - 30 * s, desired: 3 }],
      config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, stabilizationWindowMs: 60 * s } }),
    },
    desired: 3,
    limitedBy: /scale-up stabilization/,
  },

  // ---- rate limits (default scale-up: max(100%, 4 instances) per 15 s) ----
  { name: 'scale-up from 2 is bounded by 4 instances per 15 s (more than 100%)', input: { current: 2, metrics: { cpu: 7 } }, desired: 6, limitedBy: /rate limit/ },
  { name: 'scale-up from 10 is bounded by 100% per 15 s (more than 4 instances)', input: { current: 10, metrics: { cpu: 7 }, config: config({ maxInstances: 50 }) }, desired: 20, limitedBy: /rate limit/ },
  {
    name: 'selectPolicy Min applies the most restrictive policy',
    input: { current: 2, metrics: { cpu: 7 }, config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, selectPolicy: 'Min' } }) },
    desired: 4,
  },
  {
    name: 'a scale-up earlier in the period uses the allowance up',
    input: { current: 6, metrics: { cpu: 7 }, events: [{ at: NOW - 5 * s, from: 2, to: 6 }] },
    desired: 6,
    limitedBy: /rate limit/,
  },
  {
    name: 'once the period has passed, the allowance is back',
    input: { current: 6, metrics: { cpu: 7 }, events: [{ at: NOW - 16 * s, from: 2, to: 6 }], config: config({ maxInstances: 50 }) },
    desired: 12,
  },
  {
    name: 'the period starts from the count before every change in it, a scale-down included (HPA counts both)',
    input: { current: 3, metrics: { cpu: 7 }, events: [{ at: NOW - 10 * s, from: 5, to: 3 }], config: config({ maxInstances: 50 }) },
    desired: 10,
  },
  {
    name: 'a percent policy rounds up in integers (10% of 10 is 1, not 2)',
    input: { current: 10, metrics: { cpu: 2.1 }, config: config({ maxInstances: 50, scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, policies: [{ type: 'percent', value: 10, periodMs: 15 * s }] } }) },
    desired: 11,
  },
  {
    name: 'a percent policy still allows one instance from a small count',
    input: { current: 1, metrics: { cpu: 2.1 }, config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, policies: [{ type: 'percent', value: 10, periodMs: 15 * s }] } }) },
    desired: 2,
  },
  {
    name: 'scale-down by one instance per minute',
    input: {
      current: 5,
      metrics: { cpu: 0.1 },
      config: config({ scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, stabilizationWindowMs: 0, policies: [{ type: 'instances', value: 1, periodMs: 60 * s }] } }),
    },
    desired: 4,
    limitedBy: /rate limit/,
  },
  {
    name: 'scale-down waits for its period after a step',
    input: {
      current: 5,
      metrics: { cpu: 0.1 },
      events: [{ at: NOW - 30 * s, from: 6, to: 5 }],
      config: config({ scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, stabilizationWindowMs: 0, policies: [{ type: 'instances', value: 1, periodMs: 60 * s }] } }),
    },
    desired: 5,
    limitedBy: /rate limit/,
  },
  {
    name: 'scale-down by 100% goes straight to the recommendation',
    input: { current: 8, metrics: { cpu: 0.1 }, config: config({ scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, stabilizationWindowMs: 0 } }) },
    desired: 2,
  },

  // ---- min, max, schedules, cooldown ----
  { name: 'never above max', input: { current: 8, metrics: { cpu: 1.4 } }, desired: 10, limitedBy: /max 10/ },
  {
    name: 'never below min',
    input: { current: 3, metrics: { cpu: 0.01 }, config: config({ minInstances: 2, scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, stabilizationWindowMs: 0 } }) },
    desired: 2,
    limitedBy: /min 2/,
  },
  { name: 'a count above max comes down to max', input: { current: 12, metrics: {}, config: config({ maxInstances: 6 }) }, desired: 6, limitedBy: /max 6/ },
  {
    name: 'a scheduled minimum applies inside its window (Monday 11:30–13:00 UTC)',
    input: { current: 2, metrics: { cpu: 0.7 }, config: config({ schedules: [{ days: [1, 2, 3, 4, 5], start: '11:30', end: '13:00', minInstances: 5 }] }) },
    desired: 5,
    limitedBy: /scheduled minimum 5/,
  },
  {
    name: 'a scheduled minimum does not apply outside its window',
    input: { current: 2, metrics: { cpu: 0.7 }, config: config({ schedules: [{ days: [1], start: '12:01', end: '13:00', minInstances: 5 }] }) },
    desired: 2,
  },
  {
    name: 'a scheduled minimum never exceeds max',
    input: { current: 2, metrics: {}, config: config({ maxInstances: 4, schedules: [{ days: [1], start: '00:00', end: '23:59', minInstances: 9 }] }) },
    desired: 4,
  },
  {
    name: 'a count raised to a scheduled minimum equal to max names the schedule',
    input: { current: 2, metrics: {}, config: config({ maxInstances: 4, schedules: [{ days: [1], start: '00:00', end: '23:59', minInstances: 4 }] }) },
    desired: 4,
    limitedBy: /scheduled minimum 4/,
  },
  {
    name: 'a cooldown holds a second scale-up',
    input: { current: 4, metrics: { cpu: 1.4 }, events: [{ at: NOW - 30 * s, from: 2, to: 4 }], config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, cooldownMs: 60 * s } }) },
    desired: 4,
    limitedBy: /cooldown/,
  },
  {
    name: 'a cooldown in one direction does not hold the other',
    input: {
      current: 4,
      metrics: { cpu: 0.1 },
      events: [{ at: NOW - 30 * s, from: 2, to: 4 }],
      config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, cooldownMs: 60 * s }, scaleDown: { ...DEFAULT_SCALING_CONFIG.scaleDown, stabilizationWindowMs: 0 } }),
    },
    desired: 1,
  },
  {
    name: 'after the cooldown, scale-up resumes',
    input: { current: 4, metrics: { cpu: 1.4 }, events: [{ at: NOW - 61 * s, from: 2, to: 4 }], config: config({ scaleUp: { ...DEFAULT_SCALING_CONFIG.scaleUp, cooldownMs: 60 * s } }) },
    desired: 8,
  },
];

describe('decide(): the HPA algorithm', () => {
  it.each(table)('$name', (row) => {
    const decision = decide({ now: NOW, recommendations: [], events: [], config: DEFAULT_SCALING_CONFIG, ...row.input });
    expect(decision.desired).toBe(row.desired);
    if (row.recommended !== undefined) expect(decision.recommended).toBe(row.recommended);
    if (row.limitedBy) expect(decision.limitedBy.join('; ')).toMatch(row.limitedBy);
    else if (decision.desired !== decision.recommended) expect(decision.limitedBy).not.toEqual([]);
  });

  it('explains a scale-up by its driving metric and records every proposal', () => {
    const decision = decide({ now: NOW, current: 2, metrics: { cpu: 0.72, queueDepth: 250 }, recommendations: [], events: [], config: DEFAULT_SCALING_CONFIG });
    expect(decision.reason).toBe('scale up 2 → 5: queueDepth 250 vs target 100');
    expect(decision.proposals.map((p) => [p.metric, p.proposal, p.withinTolerance])).toEqual([
      ['cpu', 2, true],
      ['queueDepth', 5, false],
    ]);
  });

  it('scheduled windows: start inclusive, end exclusive, by UTC weekday', () => {
    const w = [{ days: [1], start: '09:00', end: '09:30', minInstances: 3 }];
    expect(scheduledMinimum(w, Date.UTC(2026, 10, 23, 9, 0))).toBe(3);
    expect(scheduledMinimum(w, Date.UTC(2026, 10, 23, 9, 29))).toBe(3);
    expect(scheduledMinimum(w, Date.UTC(2026, 10, 23, 9, 30))).toBe(0);
    expect(scheduledMinimum(w, Date.UTC(2026, 10, 24, 9, 10))).toBe(0);
  });
});
