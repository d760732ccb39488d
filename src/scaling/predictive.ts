/**
 * Predictive scaling around market hours (seed 000): trading days repeat (the open burst comes at the
 * same minute every day), so what the metrics asked for at this time on previous days is a floor for
 * now, taken early enough for new instances to be ready when the burst comes. Demand is the
 * metric-driven recommendation (decide()'s `recommended`, before stabilization, limits and bounds),
 * recorded as its highest value per minute (migration 019). The floor is the median, over the previous
 * days of the same kind (weekdays for a weekday, weekend days for a weekend day), of each day's highest
 * demand from this minute to `leadMs` ahead: one unusual day moves a median no more than one rank.
 * Beside the scheduled minimum, not instead of it: the schedule is what an operator knows, the
 * prediction what the history shows.
 */

export interface PredictiveConfig {
  enabled: boolean;
  /** How many previous days to look at (of either kind: the median takes those of today's kind). */
  days: number;
  /** No floor from fewer days of history than this (of today's kind). */
  minDays: number;
  /** How far ahead to look: the time a scale-up takes to serve (start, readiness, HAProxy). */
  leadMs: number;
}

export const DEFAULT_PREDICTIVE: PredictiveConfig = { enabled: true, days: 14, minDays: 3, leadMs: 60_000 };

const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;

/** One previous day's highest demand in the window that corresponds to now … now + lead. */
export interface DayDemand {
  daysAgo: number;
  needed: number;
}

export interface Prediction {
  minimum: number;
  /** The days (days ago) whose demand the median was taken over. */
  days: number[];
  /** 'HH:MM' UTC of the window's start and end, for the decision's reason. */
  window: string;
}

const weekend = (at: number) => [0, 6].includes(new Date(at).getUTCDay());
const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  // The upper median of an even count: a floor errs on the side of capacity.
  return sorted[mid]!;
}

/** The floor for now from the previous days' demand, or null when there is too little history. */
export function predict(history: readonly DayDemand[], now: number, config: PredictiveConfig): Prediction | null {
  if (!config.enabled) return null;
  const sameKind = history.filter((d) => d.daysAgo >= 1 && d.daysAgo <= config.days && weekend(now - d.daysAgo * DAY_MS) === weekend(now));
  if (sameKind.length < config.minDays) return null;
  return { minimum: median(sameKind.map((d) => d.needed)), days: sameKind.map((d) => d.daysAgo), window: `${hhmm(now)}–${hhmm(now + config.leadMs)}` };
}

/** The start of the minute `at` falls in. */
export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS) * MINUTE_MS;
