/**
 * Predictive scaling around market hours on synthetic history: the floor is the median of previous
 * days of the same kind at this minute, looking ahead by the scale-up time; it stands beside min and
 * the schedules in decide() and is recorded in the decision; the autoscaler records each minute's
 * demand and, on a database holding earlier weekdays' open burst, scales up before the open.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterInstance } from '../../src/cluster/local-cluster.ts';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { Autoscaler, type InstancePool } from '../../src/scaling/autoscaler.ts';
import { decide, DEFAULT_SCALING_CONFIG, type ScalingConfig } from '../../src/scaling/hpa.ts';
import type { InstanceSample } from '../../src/scaling/instance-metrics.ts';
import { DEFAULT_PREDICTIVE, predict, type DayDemand } from '../../src/scaling/predictive.ts';
import { ScalingStore } from '../../src/scaling/store.ts';
import { engines } from '../support/engines.ts';

const DAY = 86_400_000;
const MINUTE = 60_000;
/** Monday 2026-11-23, 13:29 UTC: a minute before the US open (09:30 New York). */
const BEFORE_OPEN = Date.UTC(2026, 10, 23, 13, 29);
const SATURDAY = Date.UTC(2026, 10, 21, 13, 29);

describe('predict(): the median of previous days of the same kind', () => {
  // Days 1–7 before Monday: Sunday (1), Saturday (2), then Friday … Tuesday (3–6), Monday (7).
  const history: DayDemand[] = [
    { daysAgo: 1, needed: 1 },
    { daysAgo: 2, needed: 1 },
    { daysAgo: 3, needed: 6 },
    { daysAgo: 4, needed: 5 },
    { daysAgo: 5, needed: 12 }, // one unusual day moves the median one rank at most
    { daysAgo: 6, needed: 6 },
    { daysAgo: 7, needed: 4 },
  ];

  it('takes weekdays for a weekday, leaving the quiet weekend out', () => {
    expect(predict(history, BEFORE_OPEN, DEFAULT_PREDICTIVE)).toEqual({ minimum: 6, days: [3, 4, 5, 6, 7], window: '13:29–13:30' });
  });

  it('takes weekend days for a weekend day', () => {
    // From Saturday: day 1 is Friday; days 6, 7 and 13 a Sunday, a Saturday and a Sunday.
    const weekend = [{ daysAgo: 1, needed: 6 }, { daysAgo: 6, needed: 1 }, { daysAgo: 7, needed: 2 }, { daysAgo: 13, needed: 1 }];
    expect(predict(weekend, SATURDAY, DEFAULT_PREDICTIVE)?.minimum).toBe(1);
  });

  it('gives no floor from too little history, from days beyond the horizon, or when disabled', () => {
    expect(predict(history.slice(0, 4), BEFORE_OPEN, DEFAULT_PREDICTIVE)).toBeNull(); // two weekdays < minDays 3
    expect(predict(history, BEFORE_OPEN, { ...DEFAULT_PREDICTIVE, days: 4 })).toBeNull();
    expect(predict(history, BEFORE_OPEN, { ...DEFAULT_PREDICTIVE, enabled: false })).toBeNull();
  });
});

describe('decide() with a predicted floor', () => {
  const prediction = { minimum: 6, days: [3, 4, 5], window: '13:29–13:30' };

  it('raises a quiet count to the prediction and says so', () => {
    const d = decide({ now: BEFORE_OPEN, current: 2, metrics: { cpu: 0.1 }, recommendations: [], events: [], config: DEFAULT_SCALING_CONFIG, prediction });
    expect(d.desired).toBe(6);
    expect(d.recommended).toBe(1);
    expect(d.prediction).toEqual(prediction);
    expect(d.reason).toMatch(/predicted minimum 6 \(median demand 13:29–13:30 UTC on 3 previous days\)/);
  });

  it('stays within max, and a higher schedule or metric wins', () => {
    const config: ScalingConfig = { ...DEFAULT_SCALING_CONFIG, maxInstances: 4 };
    expect(decide({ now: BEFORE_OPEN, current: 2, metrics: {}, recommendations: [], events: [], config, prediction }).desired).toBe(4);
    const scheduled = { ...DEFAULT_SCALING_CONFIG, schedules: [{ days: [1], start: '13:00', end: '14:00', minInstances: 8 }] };
    expect(decide({ now: BEFORE_OPEN, current: 8, metrics: {}, recommendations: [], events: [], config: scheduled, prediction }).limitedBy).toEqual([]);
    expect(decide({ now: BEFORE_OPEN, current: 2, metrics: { cpu: 2.8 }, recommendations: [], events: [], config: DEFAULT_SCALING_CONFIG, prediction }).desired).toBe(6);
    expect(decide({ now: BEFORE_OPEN, current: 4, metrics: { cpu: 2.8 }, recommendations: [], events: [], config: DEFAULT_SCALING_CONFIG, prediction }).desired).toBe(8);
  });
});

/** Instances that start at once: the decision and its records are under test here, not processes. */
class CountingPool implements InstancePool {
  readonly slots = 10;
  private names: string[] = ['i1'];
  instances(): ClusterInstance[] {
    return this.names.map((name) => ({ name, url: `http://${name}`, state: 'ready' }));
  }
  async addInstance(): Promise<ClusterInstance> {
    this.names.push(`i${this.names.length + 1}`);
    return this.instances().at(-1)!;
  }
  async removeInstance(name: string): Promise<void> {
    this.names = this.names.filter((n) => n !== name);
  }
}

const quiet = async (): Promise<InstanceSample> => ({
  at: 0,
  cpuSeconds: 0,
  cores: 1,
  memory: 0.2,
  eventLoopP99Ms: 5,
  httpP95Ms: undefined,
  queueDepth: 0,
  websocketConnections: 0,
  shardsHeld: 8,
  feedLeader: true,
});

describe.each(await engines())('the autoscaler with demand history ($name)', (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let store: ScalingStore;
  beforeEach(async () => {
    ({ db, cleanup } = await engine.open());
    await migrate(db);
    store = new ScalingStore(db);
    await store.saveConfig({ ...DEFAULT_SCALING_CONFIG, targets: { memory: 0.7 } });
  });
  afterEach(() => cleanup());

  it('scales up before the open from earlier weekdays, recording the prediction and the demand', async () => {
    // Friday … Tuesday before: the open burst asked for 5, 6 and 7 instances in the minute after 13:30; the weekend stayed at 1.
    for (const [daysAgo, needed] of [[3, 5], [4, 7], [5, 6], [6, 6], [1, 1], [2, 1]] as const) {
      await store.recordDemand(BEFORE_OPEN + MINUTE - daysAgo * DAY, needed);
      await store.recordDemand(BEFORE_OPEN - 10 * MINUTE - daysAgo * DAY, 1);
    }
    await store.recordDemand(BEFORE_OPEN + MINUTE - 3 * DAY, 2); // a lower value later in the same minute does not lower it
    expect(await store.dayDemand(BEFORE_OPEN, BEFORE_OPEN + MINUTE, 14)).toEqual([1, 2, 3, 4, 5, 6].map((d) => ({ daysAgo: d, needed: [1, 1, 5, 7, 6, 6][d - 1] })));

    let now = BEFORE_OPEN - 5 * MINUTE;
    const autoscaler = new Autoscaler({ pool: new CountingPool(), store, intervalMs: 1000, read: quiet, now: () => now });
    await autoscaler.evaluate(); // five minutes before: nothing predicted, nothing to do
    expect(await store.history(10)).toEqual([]);
    now = BEFORE_OPEN + 30_000; // within a minute (leadMs) of the open
    await autoscaler.evaluate();
    const [event] = await store.history(10);
    expect(event).toMatchObject({ from: 1, to: 6, trigger: 'metrics' });
    expect(event!.decision!.prediction).toEqual({ minimum: 6, days: [3, 4, 5, 6], window: '13:29–13:30' });
    expect(event!.reason).toMatch(/predicted minimum 6/);
    // What the metrics asked for (one instance) is the minute's demand, not the floor it was raised to.
    expect(await store.dayDemand(BEFORE_OPEN + DAY, BEFORE_OPEN + DAY, 1)).toEqual([{ daysAgo: 1, needed: 1 }]);
    await autoscaler.stop();
  });
});
