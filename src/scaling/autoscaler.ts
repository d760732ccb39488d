/**
 * The autoscaler of `tachyon cluster --autoscale`: every interval it reads each ready instance's
 * metrics, asks decide() (the HPA algorithm, src/scaling/hpa.ts) for a count, or takes a manual count
 * asked through the API, and acts on the pool: new instances are started, awaited until ready and
 * only then enabled in HAProxy; removed ones are drained before they stop. Each evaluation's view is
 * written to the database (the scaling API of every instance reads it there) and every change is
 * recorded with its inputs and how long it took. Each metric-driven recommendation is also recorded as the
 * minute's demand, which predictive scaling reads back on later days (predictive.ts). One evaluation at a time: a scale-up that waits for
 * readiness delays the next evaluation instead of overlapping it.
 */
import type { ClusterInstance } from '../cluster/local-cluster.ts';
import { decide, type Decision, type MetricValues, type Recommendation, type ScaleEvent, type ScalingConfig } from './hpa.ts';
import { clusterMetrics, instanceMetrics, type InstanceSample } from './instance-metrics.ts';
import { minuteOf, predict, type Prediction } from './predictive.ts';
import type { ClusterScalingStatus, InstanceStatus, ScalingStore, ScalingTrigger } from './store.ts';

export interface InstancePool {
  instances(): ClusterInstance[];
  /** Most instances the pool can run (HAProxy server slots). */
  readonly slots: number;
  addInstance(): Promise<ClusterInstance>;
  removeInstance(name: string): Promise<void>;
}

export interface AutoscalerOptions {
  pool: InstancePool;
  store: ScalingStore;
  intervalMs: number;
  read: (instance: ClusterInstance) => Promise<InstanceSample>;
  log?: (line: string) => void;
  now?: () => number;
}

/** Events and recommendations older than this no longer matter to any window, period or cooldown the API accepts. */
const MEMORY_MS = 3_600_000;

export class Autoscaler {
  private recommendations: Recommendation[] = [];
  private events: ScaleEvent[] = [];
  private readonly samples = new Map<string, InstanceSample>();
  private readonly perInstance = new Map<string, MetricValues>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The prediction of the current minute (the history changes by the minute), for the configuration it was made with. */
  private prediction: { key: string; value: Prediction | null } | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: AutoscalerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.evaluate()
        .catch((error: unknown) => this.options.log?.(`[autoscaler] evaluation failed: ${(error as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    loop();
  }

  /** Finishes the evaluation under way (a scale-up or a drain is not cut short) and withdraws the status. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.options.store.clearStatus();
  }

  async evaluate(): Promise<void> {
    const { pool, store } = this.options;
    const config = await store.config();
    const instances = pool.instances();
    const ready = instances.filter((i) => i.state === 'ready');
    const queueDepths = await Promise.all(ready.map((i) => this.sample(i)));
    for (const name of this.samples.keys()) if (!ready.some((i) => i.name === name)) this.forget(name);
    const depth = queueDepths.filter((d): d is number => d !== undefined);
    const metrics = clusterMetrics(
      ready.map((i) => this.perInstance.get(i.name)).filter((m): m is MetricValues => m !== undefined),
      depth.length > 0 ? Math.max(...depth) : undefined,
      ready.length,
    );
    const current = instances.filter((i) => i.state !== 'draining').length;
    const now = this.now();
    // The pool cannot run more instances than it has slots, whatever the configuration says.
    const bounded: ScalingConfig = { ...config, maxInstances: Math.min(config.maxInstances, pool.slots) };

    let decision: Decision | null = null;
    let desired: number;
    let reason: string;
    let trigger: ScalingTrigger;
    const manual = await store.takeManual();
    if (manual) {
      desired = Math.min(bounded.maxInstances, Math.max(bounded.minInstances, manual.count));
      trigger = 'manual';
      reason = `manual ${current} → ${desired} by ${manual.requestedBy}: ${manual.reason}`;
      // As a recommendation, a manual count holds against a scale-down for the stabilization window.
      this.recommendations.push({ at: now, desired });
    } else {
      decision = decide({ now, current, metrics, recommendations: this.recommendations, events: this.events, config: bounded, prediction: await this.predicted(config, now) });
      this.recommendations.push({ at: now, desired: decision.recommended });
      await store.recordDemand(minuteOf(now), decision.recommended);
      desired = decision.desired;
      trigger = 'metrics';
      reason = decision.reason;
    }
    this.recommendations = this.recommendations.filter((r) => r.at > now - MEMORY_MS);
    this.events = this.events.filter((e) => e.at > now - MEMORY_MS);

    const status = (): ClusterScalingStatus => ({ current, desired, reason, metrics, instances: this.instanceStatus(), decision });
    await store.writeStatus(status(), this.options.intervalMs);
    if (desired === current) return;

    this.options.log?.(`[autoscaler] ${reason}`);
    this.events.push({ at: now, from: current, to: desired });
    // The API must keep seeing a live cluster (and the instances' states) while instances start or drain.
    const heartbeat = setInterval(() => void store.writeStatus(status(), this.options.intervalMs).catch(() => {}), this.options.intervalMs);
    let to = current;
    const failures: string[] = [];
    try {
      if (desired > current) {
        const results = await Promise.allSettled(Array.from({ length: desired - current }, () => pool.addInstance()));
        for (const r of results) {
          if (r.status === 'fulfilled') to++;
          else failures.push((r.reason as Error).message);
        }
      } else {
        // The newest instances go first: the first one seeded the data and is the likeliest feed leader.
        const victims = instances.filter((i) => i.state !== 'draining').slice(desired);
        const results = await Promise.allSettled(victims.map((i) => pool.removeInstance(i.name)));
        for (const r of results) {
          if (r.status === 'fulfilled') to--;
          else failures.push((r.reason as Error).message);
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
    const durationMs = this.now() - now;
    if (to !== desired) this.events[this.events.length - 1] = { at: now, from: current, to };
    const outcome = failures.length > 0 ? `; ${failures.length} failed: ${failures.join('; ')}` : '';
    this.options.log?.(`[autoscaler] ${current} → ${to} in ${durationMs} ms${outcome}`);
    await store.recordEvent({ from: current, to, trigger, reason: reason + outcome, metrics, decision, durationMs });
    await store.writeStatus({ ...status(), current: to }, this.options.intervalMs);
  }

  private async predicted({ predictive }: ScalingConfig, now: number): Promise<Prediction | null> {
    const key = `${minuteOf(now)} ${JSON.stringify(predictive)}`;
    if (this.prediction?.key !== key) {
      const history = predictive.enabled ? await this.options.store.dayDemand(minuteOf(now), now + predictive.leadMs, predictive.days) : [];
      this.prediction = { key, value: predict(history, now, predictive) };
    }
    return this.prediction.value;
  }

  /** Reads an instance; returns the shared queue's depth it reports. */
  private async sample(instance: ClusterInstance): Promise<number | undefined> {
    try {
      const sample = await this.options.read(instance);
      this.perInstance.set(instance.name, instanceMetrics(this.samples.get(instance.name), sample));
      this.samples.set(instance.name, sample);
      return sample.queueDepth;
    } catch (error) {
      // An instance that does not answer drives no decision this time (HPA leaves out pods without metrics).
      this.perInstance.delete(instance.name);
      this.options.log?.(`[autoscaler] ${instance.name}: no metrics (${(error as Error).message})`);
      return undefined;
    }
  }

  private forget(name: string): void {
    this.samples.delete(name);
    this.perInstance.delete(name);
  }

  private instanceStatus(): InstanceStatus[] {
    return this.options.pool.instances().map((i) => {
      const sample = this.samples.get(i.name);
      return { ...i, metrics: this.perInstance.get(i.name) ?? null, shardsHeld: sample?.shardsHeld ?? null, feedLeader: sample?.feedLeader ?? null };
    });
  }
}
