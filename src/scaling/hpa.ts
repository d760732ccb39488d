/**
 * The autoscaler's decision, by the Kubernetes HorizontalPodAutoscaler algorithm so a user who knows
 * HPA knows this one (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale, "Algorithm
 * details" and "Configurable scaling behavior"):
 * - per metric, desired = ⌈current × value / target⌉, unless |value / target − 1| ≤ tolerance (10%);
 *   the largest proposal wins;
 * - stabilization: a scale-down takes the highest recommendation of its window (300 s by default), a
 *   scale-up the lowest of its own (0 s by default), so a brief dip or spike does not flap;
 * - rate limits per period: scale-up by at most max(100%, 4 instances) per 15 s, scale-down by at most
 *   100% per 15 s (selectPolicy Max, as HPA's defaults);
 * - min and max instances, a scheduled minimum (capacity in place before the market open) and a
 *   predicted one (previous days' demand at this minute, src/scaling/predictive.ts);
 * - a cooldown after each change in the same direction (beyond HPA: instances here start in seconds).
 * A pure function of its inputs and the history it is given, so it is tested against a table.
 */
import { DEFAULT_PREDICTIVE, type PredictiveConfig, type Prediction } from './predictive.ts';

export const SCALING_METRICS = ['cpu', 'memory', 'eventLoopP99Ms', 'httpP95Ms', 'queueDepth', 'websocketConnections'] as const;
export type ScalingMetric = (typeof SCALING_METRICS)[number];

export interface RatePolicy {
  /** 'instances': at most `value` instances per period; 'percent': at most `value`% of the instances at the period's start. */
  type: 'instances' | 'percent';
  value: number;
  periodMs: number;
}

export interface DirectionBehavior {
  stabilizationWindowMs: number;
  policies: RatePolicy[];
  /** Max: the most permissive policy applies (HPA's default); Min: the most restrictive. */
  selectPolicy: 'Max' | 'Min';
  /** No further change in this direction for this long after one. */
  cooldownMs: number;
}

export interface ScheduleWindow {
  /** Days of the week (0 = Sunday) the window applies to, in UTC. */
  days: number[];
  /** 'HH:MM' UTC, start inclusive, end exclusive. */
  start: string;
  end: string;
  minInstances: number;
}

export interface ScalingConfig {
  minInstances: number;
  maxInstances: number;
  /** Per-instance targets; an absent metric does not drive scaling. */
  targets: Partial<Record<ScalingMetric, number>>;
  tolerance: number;
  scaleUp: DirectionBehavior;
  scaleDown: DirectionBehavior;
  schedules: ScheduleWindow[];
  predictive: PredictiveConfig;
}

export const DEFAULT_SCALING_CONFIG: ScalingConfig = {
  minInstances: 1,
  maxInstances: 10,
  // Seed 004: CPU or memory > 70%, queue depth > 100, WebSocket connections > 10,000.
  targets: { cpu: 0.7, memory: 0.7, queueDepth: 100, websocketConnections: 10_000 },
  tolerance: 0.1,
  scaleUp: { stabilizationWindowMs: 0, selectPolicy: 'Max', cooldownMs: 0, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }, { type: 'instances', value: 4, periodMs: 15_000 }] },
  scaleDown: { stabilizationWindowMs: 300_000, selectPolicy: 'Max', cooldownMs: 0, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }] },
  schedules: [],
  predictive: DEFAULT_PREDICTIVE,
};

/** Per-instance averages over the ready instances (utilizations as fractions, the rest in their units). */
export type MetricValues = Partial<Record<ScalingMetric, number>>;

export interface Recommendation {
  at: number;
  desired: number;
}

export interface ScaleEvent {
  at: number;
  from: number;
  to: number;
}

export interface DecisionInput {
  now: number;
  current: number;
  metrics: MetricValues;
  /** Earlier unstabilized recommendations (the decision appends its own). */
  recommendations: readonly Recommendation[];
  /** Earlier scaling events, for rate limits and cooldowns. */
  events: readonly ScaleEvent[];
  config: ScalingConfig;
  /** The predicted floor for now (predictive.ts), when there is enough history. */
  prediction?: Prediction | null;
}

export interface MetricProposal {
  metric: ScalingMetric;
  value: number;
  target: number;
  ratio: number;
  proposal: number;
  withinTolerance: boolean;
}

export interface Decision {
  current: number;
  desired: number;
  /** The recommendation before stabilization, rate limits and bounds (what the metrics alone ask). */
  recommended: number;
  proposals: MetricProposal[];
  /** Why desired differs from recommended, in order: stabilized, rate-limited, cooldown, bounds, schedule, prediction. */
  limitedBy: string[];
  /** The predicted floor the decision saw (null: disabled or too little history). */
  prediction: Prediction | null;
  reason: string;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

export function scheduledMinimum(schedules: readonly ScheduleWindow[], now: number): number {
  const date = new Date(now);
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  let min = 0;
  for (const w of schedules) {
    if (w.days.includes(date.getUTCDay()) && minute >= minutesOf(w.start) && minute < minutesOf(w.end)) min = Math.max(min, w.minInstances);
  }
  return min;
}

/**
 * The largest change the policies allow now, as HPA computes it: each policy bounds the count at the
 * period's start (the current count less every change in the period, in both directions) plus or
 * minus its allowance; a change already made in the period uses the allowance up.
 */
function rateLimit(behavior: DirectionBehavior, current: number, events: readonly ScaleEvent[], now: number, direction: 1 | -1): number {
  const limits = behavior.policies.map((p) => {
    const net = events.filter((e) => e.at > now - p.periodMs).reduce((sum, e) => sum + (e.to - e.from), 0);
    const atStart = current - net;
    // Integer arithmetic: ⌈n × (1 + p/100)⌉ in floating point makes 10 × 1.1 into 12.
    const allowance = p.type === 'instances' ? p.value : Math.ceil((atStart * p.value) / 100);
    const bound = atStart + direction * allowance;
    return Math.max(0, direction * (bound - current));
  });
  if (limits.length === 0) return Infinity;
  return behavior.selectPolicy === 'Max' ? Math.max(...limits) : Math.min(...limits);
}

export function decide(input: DecisionInput): Decision {
  const { now, current, metrics, config } = input;
  const proposals: MetricProposal[] = [];
  for (const metric of SCALING_METRICS) {
    const target = config.targets[metric];
    const value = metrics[metric];
    if (target === undefined || value === undefined || !Number.isFinite(value)) continue;
    const ratio = value / target;
    // The epsilon keeps the band inclusive in floating point: 110 / 100 − 1 is 0.10000000000000009.
    const withinTolerance = Math.abs(ratio - 1) <= config.tolerance + 1e-9;
    proposals.push({ metric, value, target, ratio, proposal: withinTolerance ? current : Math.ceil(current * ratio), withinTolerance });
  }
  const recommended = proposals.length > 0 ? Math.max(...proposals.map((p) => p.proposal)) : current;
  const limitedBy: string[] = [];

  // Stabilization over this recommendation and the earlier ones in each direction's window.
  const all = [...input.recommendations, { at: now, desired: recommended }];
  let desired = recommended;
  if (recommended < current) {
    const window = all.filter((r) => r.at > now - config.scaleDown.stabilizationWindowMs || r.at === now);
    desired = Math.min(current, Math.max(...window.map((r) => r.desired)));
    if (desired !== recommended) limitedBy.push(`scale-down stabilization (${config.scaleDown.stabilizationWindowMs / 1000} s window)`);
  } else if (recommended > current) {
    const window = all.filter((r) => r.at > now - config.scaleUp.stabilizationWindowMs || r.at === now);
    desired = Math.max(current, Math.min(...window.map((r) => r.desired)));
    if (desired !== recommended) limitedBy.push(`scale-up stabilization (${config.scaleUp.stabilizationWindowMs / 1000} s window)`);
  }

  const direction = desired > current ? 1 : desired < current ? -1 : 0;
  if (direction !== 0) {
    const behavior = direction === 1 ? config.scaleUp : config.scaleDown;
    const last = [...input.events].reverse().find((e) => Math.sign(e.to - e.from) === direction);
    if (last && now - last.at < behavior.cooldownMs) {
      desired = current;
      limitedBy.push(`cooldown (${behavior.cooldownMs / 1000} s after the last ${direction === 1 ? 'scale-up' : 'scale-down'})`);
    } else {
      const allowed = rateLimit(behavior, current, input.events, now, direction);
      const limited = direction === 1 ? Math.min(desired, current + allowed) : Math.max(desired, current - allowed);
      if (limited !== desired) limitedBy.push(`rate limit (${direction === 1 ? 'up' : 'down'} ${allowed} now)`);
      desired = limited;
    }
  }

  const prediction = input.prediction ?? null;
  const scheduled = scheduledMinimum(config.schedules, now);
  const predicted = prediction?.minimum ?? 0;
  const floor = Math.max(config.minInstances, scheduled, predicted);
  const bounded = Math.min(config.maxInstances, Math.max(floor, desired));
  if (bounded < desired) limitedBy.push(`max ${config.maxInstances}`);
  else if (bounded > desired) {
    if (floor === config.minInstances) limitedBy.push(`min ${config.minInstances}`);
    else if (floor === scheduled) limitedBy.push(`scheduled minimum ${floor}`);
    else limitedBy.push(`predicted minimum ${floor} (median demand ${prediction!.window} UTC on ${prediction!.days.length} previous days)`);
  }
  desired = bounded;

  const driver = proposals.filter((p) => !p.withinTolerance).sort((a, b) => b.proposal - a.proposal)[0];
  const reason =
    desired === current
      ? limitedBy.length > 0
        ? `hold at ${current}: ${limitedBy.join(', ')}`
        : proposals.every((p) => p.withinTolerance)
          ? `hold at ${current}: every metric within ${config.tolerance * 100}% of its target`
          : `hold at ${current}: what the metrics ask for`
      : `${desired > current ? 'scale up' : 'scale down'} ${current} → ${desired}${driver ? `: ${driver.metric} ${round(driver.value)} vs target ${driver.target}` : ''}${limitedBy.length > 0 ? ` (${limitedBy.join(', ')})` : ''}`;
  return { current, desired, recommended, proposals, limitedBy, prediction, reason };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
