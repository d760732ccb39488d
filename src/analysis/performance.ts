/**
 * Strategy performance: a strategy's backtest over its lookback window up to now, stored in
 * `strategy_performance` and recomputed when the strategy changes or new bars of its symbols
 * arrive—never on a read. New bars (those this instance wrote: once per cluster) only mark symbols dirty; every `refreshMs` the strategies trading
 * a dirty symbol are queued as low-priority, batched tasks (so a minute close of 2,000 symbols costs
 * one query and a handful of tasks, not a recomputation per bar). Each save publishes
 * `strategy.<id>` with the record, which writes it through to the owner's cached copy (performance-cache.ts).
 */
import type { Logger } from 'pino';
import type { MessageBus } from '../kernel/bus.ts';
import type { Clock } from '../kernel/clock.ts';
import { BadRequestError, TachyonError } from '../kernel/errors.ts';
import type { BacktestPlan } from './backtest-options.ts';
import type { AnalysisService, BacktestRequest } from './service.ts';
import type { PerformanceRecord, StrategyInput, StrategyRecord, StrategyStore } from './strategy-store.ts';
import type { TaskQueue } from './task-queue/port.ts';

export const PERFORMANCE_TASK = 'analysis.performance';
const DAY_MS = 86_400_000;
/** Points kept of the equity curve: enough for a chart, small enough for one row. */
const EQUITY_POINTS = 500;
const BAR_TOPIC = 'bar.1m.';

export interface StrategyPerformanceDeps {
  store: StrategyStore;
  analysis: AnalysisService;
  queue: TaskQueue;
  bus: MessageBus;
  clock: Clock;
  logger: Logger;
  /** How often symbols with new bars trigger recomputation. */
  refreshMs: number;
}

export class StrategyPerformance {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly deps: StrategyPerformanceDeps) {}

  /** The backtest a strategy stands for: its symbols over the last `lookbackDays` up to `now`. */
  backtestOf(strategy: StrategyInput, now: number): BacktestRequest {
    const { symbols, interval, lookbackDays, params, options } = strategy.config;
    return { symbols, interval, from: now - lookbackDays * DAY_MS, to: now, strategy: { type: strategy.type, params }, options };
  }

  /** Validates a strategy as its backtest (400 naming the field, 422 beyond the limits); says whether it computes inline. */
  plan(strategy: StrategyInput): BacktestPlan {
    try {
      return this.deps.analysis.plan(this.backtestOf(strategy, this.deps.clock.now()));
    } catch (error) {
      // The backtest's fields live under `config` in a strategy.
      const field = error instanceof BadRequestError ? error.details?.field : undefined;
      if (typeof field !== 'string' || !/^(params|options|symbols)\b/.test(field)) throw error;
      const { message, details } = error as BadRequestError;
      throw new BadRequestError(message.startsWith(field) ? `config.${message}` : message, { ...details, field: `config.${field}` });
    }
  }

  registerTasks(): void {
    this.deps.queue.register<{ strategyId: number }, PerformanceRecord | null>({
      type: PERFORMANCE_TASK,
      // Bars close for every symbol at once: gather the recomputations they trigger.
      batch: { maxBatch: 16, maxWaitMs: 1_000 },
      timeoutMs: 5 * 60_000,
      maxAttempts: 2,
      handler: (tasks) =>
        Promise.all(
          tasks.map(async (task) => {
            const strategy = await this.deps.store.byId(task.payload.strategyId);
            return strategy ? this.recompute(strategy, task.signal).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))) : null;
          }),
        ),
    });
  }

  /** Computes, stores and announces one strategy's performance. */
  async recompute(strategy: StrategyRecord, signal?: AbortSignal): Promise<PerformanceRecord> {
    const computedAt = this.deps.clock.now();
    const request = this.backtestOf(strategy, computedAt);
    let record: PerformanceRecord;
    try {
      const result = await this.deps.analysis.evaluate(request, signal);
      const { ts, value } = result.equity;
      record =
        result.bars < 2
          ? failure(strategy, computedAt, `fewer than 2 ${request.interval} bars in the last ${strategy.config.lookbackDays} days`)
          : {
              strategyId: strategy.id,
              computedAt,
              window: { from: ts[0]!, to: ts[ts.length - 1]!, bars: result.bars, symbols: result.symbols },
              metrics: result.metrics,
              equity: downsample(ts, value, EQUITY_POINTS),
              error: null,
            };
    } catch (error) {
      // A refusal (a symbol left the universe, a limit) is the strategy's state; anything else is retried.
      if (!(error instanceof TachyonError)) throw error;
      record = failure(strategy, computedAt, error.message);
    }
    await this.deps.store.savePerformance(record);
    this.deps.bus.publish(`strategy.${strategy.id}`, { userId: strategy.userId, performance: record });
    return record;
  }

  /** Drops cached copies of a deleted strategy's performance (on every instance, through the bus). */
  deleted(userId: number, strategyId: number): void {
    this.deps.bus.publish(`strategy.${strategyId}`, { userId, performance: null });
  }

  /** Queues a recomputation (large strategies, and strategies whose symbols got new bars). */
  schedule(strategyId: number, priority: 'high' | 'low'): Promise<string> {
    return this.deps.queue.enqueue({ type: PERFORMANCE_TASK, payload: { strategyId }, priority });
  }

  start(): void {
    // Only bars this instance wrote (it is the feed leader): bridged copies on the other instances
    // would queue the same recomputations once per instance into the shared queue.
    this.unsubscribe = this.deps.bus.subscribe(`${BAR_TOPIC}*`, (_bar, topic, remote) => {
      if (!remote) this.dirty.add(topic.slice(BAR_TOPIC.length));
    });
    this.timer = setInterval(() => void this.flush(), this.deps.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.flushing;
  }

  /** Queues the strategies trading symbols that got bars since the last flush. */
  flush(): Promise<void> {
    if (this.flushing || this.dirty.size === 0) return this.flushing ?? Promise.resolve();
    const symbols = [...this.dirty];
    this.dirty.clear();
    this.flushing = (async () => {
      for (const id of await this.deps.store.idsTrading(symbols)) await this.schedule(id, 'low');
    })()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'strategy performance refresh failed'))
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }
}

function failure(strategy: StrategyRecord, computedAt: number, error: string): PerformanceRecord {
  return { strategyId: strategy.id, computedAt, window: { from: null, to: null, bars: 0, symbols: strategy.config.symbols.length }, metrics: null, equity: { ts: [], value: [] }, error };
}

/** At most `points` evenly spaced samples, always keeping the last. */
function downsample(ts: number[], value: number[], points: number): { ts: number[]; value: number[] } {
  if (ts.length <= points) return { ts, value };
  const out = { ts: [] as number[], value: [] as number[] };
  const step = (ts.length - 1) / (points - 1);
  for (let k = 0; k < points; k++) {
    const i = Math.round(k * step);
    out.ts.push(ts[i]!);
    out.value.push(value[i]!);
  }
  return out;
}
