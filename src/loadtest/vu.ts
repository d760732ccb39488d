/**
 * A virtual user: its iteration context (http, ws, metrics, check, state) built once and reused,
 * and the code that runs one iteration and records iteration metrics.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type WebSocket from 'ws';
import { createHttpClient } from './http-client.ts';
import type { HttpTransport, LagCarrier } from './http-client.ts';
import type { Guardrails } from './guardrails.ts';
import { MetricsRegistry, epochNowMs } from './metrics.ts';
import type { Series, Tags } from './metrics.ts';
import type { CustomMetrics, IterationContext, Scenario, Vu } from './scenario.ts';
import { createWsConnector } from './ws-session.ts';

/** Everything the VUs of one thread share. */
export interface VuEnv {
  scenario: Scenario;
  target: URL;
  metrics: MetricsRegistry;
  transport: HttpTransport;
  guardrails: Guardrails;
  baseTags: Tags;
  data: unknown;
  /** Aborted to abandon in-flight work (cancellation, end of graceful stop). */
  signal: AbortSignal;
  openSockets: Set<WebSocket>;
  errors: ErrorTally;
}

/** Distinct iteration error messages with counts, bounded so a noisy failure cannot eat memory. */
export class ErrorTally {
  readonly counts = new Map<string, number>();
  constructor(private readonly maxDistinct = 20) {}
  add(message: string, n = 1): void {
    const key = message.slice(0, 200);
    if (this.counts.has(key) || this.counts.size < this.maxDistinct) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  entries(): Array<[string, number]> {
    return [...this.counts];
  }
}

export function customMetrics(metrics: MetricsRegistry, baseTags: Tags): CustomMetrics {
  const withBase = (tags?: Tags): Tags => (tags ? { ...baseTags, ...tags } : baseTags);
  return {
    trend: (name) => ({ add: (ms, tags) => metrics.addTrend(name, withBase(tags), ms) }),
    counter: (name) => ({ add: (n = 1, tags) => metrics.addCounter(name, withBase(tags), n) }),
    rate: (name) => ({ add: (ok, tags) => metrics.addRate(name, withBase(tags), ok) }),
  };
}

export class VirtualUser {
  readonly vu: Vu;
  private readonly lag: LagCarrier = { lagMs: 0 };
  private readonly ctx: IterationContext & { dueAt: number };
  /** Series recorded every iteration, resolved once (building a series key per record cost more than the record). */
  private readonly series: { lag: Series; iterations: Series; duration: Series };

  constructor(
    id: number,
    private readonly env: VuEnv,
  ) {
    this.vu = { id, iteration: 0, state: {} };
    const { metrics, baseTags, signal } = env;
    this.series = {
      lag: metrics.handle('schedule_lag', 'trend', baseTags),
      iterations: metrics.handle('iterations', 'counter', baseTags),
      duration: metrics.handle('iteration_duration', 'trend', baseTags),
    };
    const check: IterationContext['check'] = (value, checks, tags) => {
      let all = true;
      for (const [name, predicate] of Object.entries(checks)) {
        let ok: boolean;
        try {
          ok = predicate(value);
        } catch {
          ok = false;
        }
        metrics.addRate('checks', { ...baseTags, ...tags, check: name }, ok);
        all &&= ok;
      }
      return all;
    };
    this.ctx = {
      vu: this.vu,
      target: env.target.href,
      http: createHttpClient({ transport: env.transport, metrics, base: env.target, guardrails: env.guardrails, baseTags, lag: this.lag, signal }),
      ws: createWsConnector({ metrics, base: env.target, guardrails: env.guardrails, baseTags, signal, open: env.openSockets }),
      metrics: customMetrics(metrics, baseTags),
      check,
      data: env.data,
      dueAt: 0,
      signal,
      sleep: (ms) => delay(ms, undefined, { signal }).catch(() => undefined),
    };
  }

  /**
   * Runs one iteration. `dueAt` (epoch ms) is when it should have started: the lag until now is
   * charged to its first request and to iteration_duration (zero in the closed model).
   */
  async iterate(dueAt: number): Promise<void> {
    const { metrics, errors } = this.env;
    const series = this.series;
    const startedAt = epochNowMs();
    const lag = Math.max(0, startedAt - dueAt);
    this.lag.lagMs = lag;
    this.ctx.dueAt = dueAt;
    this.vu.iteration++;
    metrics.trendOn(series.lag, lag, startedAt);
    try {
      await this.env.scenario.default(this.ctx);
    } catch (error) {
      if (this.env.signal.aborted) return; // abandoned by the run, not a scenario failure
      errors.add(error instanceof Error ? error.message : String(error));
      metrics.addCounter('iteration_errors', this.env.baseTags, 1);
    }
    const end = epochNowMs();
    metrics.counterOn(series.iterations, 1, end);
    metrics.trendOn(series.duration, end - dueAt, end);
  }

  /** Runs the scenario's vuTeardown: HTTP into a throwaway registry (not load), checks and custom metrics into the run's. */
  async teardown(): Promise<void> {
    const { scenario, errors, transport, target, guardrails, baseTags, signal } = this.env;
    if (!scenario.vuTeardown) return;
    const http = createHttpClient({ transport, metrics: new MetricsRegistry(epochNowMs()), base: target, guardrails, baseTags, lag: { lagMs: 0 }, signal });
    try {
      await scenario.vuTeardown({ ...this.ctx, http });
    } catch (error) {
      if (!signal.aborted) errors.add(`vuTeardown: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
