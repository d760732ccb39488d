/**
 * The analysis component routes call: validation (400 naming the field), size limits (422 with the
 * limit), and the choice between answering now and queueing. Backtests always compute in the worker
 * pool—"inline" means the HTTP request waits for the answer, never that the event loop does the work.
 * Forecasts with small windows run on the calling thread: fitting 500 bars takes microseconds, less
 * than a thread hop; large windows go to the pool.
 */
import type { FeatureFlags } from '../config/flags.ts';
import { BadRequestError, NotFoundError, unprocessable } from '../kernel/errors.ts';
import { planBacktest, validateBacktestOptions, DEFAULT_BACKTEST_LIMITS, type BacktestLimits, type BacktestPlan } from './backtest-options.ts';
import { runBacktest, runPortfolioBacktest, type BacktestResult } from './backtest.ts';
import { predict, validatePredictOptions, type Prediction } from './predict.ts';
import type { BarInterval, BarPanel, BarSeries } from './series.ts';
import { validateParams } from './strategies/catalogue.ts';
import { isFinal, type TaskPriority, type TaskQueue } from './task-queue/port.ts';
import { DEFAULT_USER_LIMITS, UserLimits } from './user-limits.ts';
import type { AnalysisPool } from './worker-pool.ts';

/** Where bars come from (the market-data store); wired by the composition root. */
export interface BarSource {
  /** Whether the symbol is in the universe (unknown ones are refused before any work). */
  exists(symbol: string): boolean;
  /** Bars of `symbols` on one calendar, from..to inclusive (epoch ms). Prices as floats (see fromUnitsColumns). */
  panel(symbols: string[], interval: BarInterval, from: number, to: number): Promise<BarPanel>;
  /** The most recent `bars` bars of one symbol (fewer when the history is shorter). */
  recent(symbol: string, interval: BarInterval, bars: number): Promise<BarSeries>;
}

export interface BacktestRequest {
  symbols: string[];
  interval: BarInterval;
  from: number;
  to: number;
  strategy: { type: string; params?: unknown };
  options?: unknown;
}

export interface PredictRequest {
  symbol: string;
  interval: BarInterval;
  options?: unknown;
}

/** JSON-ready backtest result: typed arrays become plain arrays (also what a queued task stores). */
export type BacktestJson = Omit<BacktestResult, 'equity'> & { equity: { ts: number[]; value: number[] } };

export type BacktestAnswer = { status: 'completed'; result: BacktestJson } | { status: 'queued'; taskId: string };

export const BACKTEST_TASK = 'analysis.backtest';
export const PREDICT_TASK = 'analysis.predict';
/** Task types a client may create through POST /api/tasks. */
export const CLIENT_TASK_TYPES = [BACKTEST_TASK, PREDICT_TASK] as const;
export type ClientTaskType = (typeof CLIENT_TASK_TYPES)[number];

const INTERVAL_MS: Record<BarInterval, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };
const MAX_SYMBOLS = 5000;
/** Forecast fits up to this many window × lag operations run on the calling thread. */
const INLINE_PREDICT_WORK = 250_000;

export interface AnalysisServiceDeps {
  pool: AnalysisPool;
  queue: TaskQueue;
  bars: BarSource;
  limits?: BacktestLimits;
  /** Deadline of an inline backtest; a queued one uses the task's timeout. */
  inlineTimeoutMs?: number;
  /** Registers `analysis.worker-pool`; off runs backtests on the calling thread (the "before" baseline). */
  flags?: FeatureFlags;
  /** Per-user concurrency limits (429) on the work users start; defaults to DEFAULT_USER_LIMITS. */
  userLimits?: UserLimits;
}

export function backtestToJson(result: BacktestResult): BacktestJson {
  return { ...result, equity: { ts: Array.from(result.equity.ts), value: Array.from(result.equity.value) } };
}

/**
 * Upper bound of the bars a range holds: the whole span at the interval (24/7). Used only to refuse
 * oversized requests before loading anything; the inline/queue choice uses the bars actually loaded.
 */
export function estimateBars(interval: BarInterval, from: number, to: number): number {
  return Math.max(0, Math.floor((to - from) / INTERVAL_MS[interval]) + 1);
}

export class AnalysisService {
  private readonly limits: BacktestLimits;
  private readonly usePool: () => boolean;
  /** Per-user concurrency limits; routes apply them to work that does not pass through here (forecasts). */
  readonly userLimits: UserLimits;
  /** Each owner's queued tasks with the slot each holds. */
  private readonly ownerTasks = new Map<number, Map<string, () => void>>();

  constructor(private readonly deps: AnalysisServiceDeps) {
    this.limits = deps.limits ?? DEFAULT_BACKTEST_LIMITS;
    this.userLimits = deps.userLimits ?? new UserLimits(DEFAULT_USER_LIMITS);
    this.usePool =
      deps.flags?.register({ name: 'analysis.worker-pool', description: 'Run backtests in worker threads instead of on the event loop', default: true }) ?? (() => true);
  }

  /** Registers the queued-backtest handler on the queue (call once at start-up, on every instance). */
  registerTasks(): void {
    this.deps.queue.register<BacktestRequest, BacktestJson>({
      type: BACKTEST_TASK,
      // A backtest fills the pool by itself, so batching would only delay it.
      batch: { maxBatch: 1, maxWaitMs: 0 },
      timeoutMs: 10 * 60_000,
      maxAttempts: 2,
      handler: async ([task]) => [await this.evaluate(task!.payload, task!.signal)],
    });
    this.deps.queue.register<PredictRequest, Prediction>({
      type: PREDICT_TASK,
      // Forecasts are small: a batch amortizes the scheduling over many of them.
      batch: { maxBatch: 32, maxWaitMs: 5 },
      timeoutMs: 30_000,
      maxAttempts: 2,
      handler: (tasks) => Promise.all(tasks.map((t) => this.predict(t.payload).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))))),
    });
  }

  /**
   * Validates a client task (the same rules and limits as the synchronous routes), then queues it
   * within the owner's limit of unfinished tasks (429 beyond it). Returns the task id.
   */
  async enqueue(type: string, payload: unknown, priority: TaskPriority = 'normal', owner?: number): Promise<string> {
    if (type === BACKTEST_TASK) {
      this.plan(payload as BacktestRequest);
    } else if (type === PREDICT_TASK) {
      const request = payload as PredictRequest;
      validatePredictOptions(request?.options ?? {});
      this.requireSymbol(request?.symbol, 'payload.symbol');
    } else {
      throw new BadRequestError(`type must be one of ${CLIENT_TASK_TYPES.join(', ')}`, { field: 'type' });
    }
    return this.queueFor(owner, type, payload, priority);
  }

  /**
   * Validates, then answers with the result (small) or a task id (large). `owner` is the user whose
   * limits apply (429 beyond them); internal callers pass none.
   */
  async backtest(request: BacktestRequest, priority: TaskPriority = 'normal', owner?: number): Promise<BacktestAnswer> {
    const release = owner === undefined ? undefined : this.userLimits.acquire('backtests', owner);
    try {
      this.plan(request);
      const panel = await this.deps.bars.panel(request.symbols, request.interval, request.from, request.to);
      if (planBacktest(panel.symbols.length, panel.bars, this.limits) === 'queue') {
        return { status: 'queued', taskId: await this.queueFor(owner, BACKTEST_TASK, request, priority) };
      }
      return { status: 'completed', result: await this.run(panel, request, undefined, this.deps.inlineTimeoutMs ?? 30_000) };
    } finally {
      release?.();
    }
  }

  /** Queues a task; the owner's slot is held until the task is found finished (see freeFinishedTasks). */
  private async queueFor(owner: number | undefined, type: string, payload: unknown, priority: TaskPriority): Promise<string> {
    if (owner === undefined) return this.deps.queue.enqueue({ type, payload, priority });
    await this.freeFinishedTasks(owner);
    const release = this.userLimits.acquire('tasks', owner);
    let id: string;
    try {
      id = await this.deps.queue.enqueue({ type, payload, priority });
    } catch (error) {
      release();
      throw error;
    }
    let tasks = this.ownerTasks.get(owner);
    if (!tasks) this.ownerTasks.set(owner, (tasks = new Map()));
    tasks.set(id, release);
    return id;
  }

  /**
   * Gives back the slots of the owner's tasks that have finished (or that the queue forgot). Checked
   * when the owner queues another—at most the limit's worth of lookups—rather than by waiting on
   * every task (BullMQ's waitFor polls Redis every 25 ms per task).
   */
  private async freeFinishedTasks(owner: number): Promise<void> {
    const tasks = this.ownerTasks.get(owner);
    if (!tasks) return;
    const held = [...tasks];
    const records = await Promise.all(held.map(([id]) => this.deps.queue.get(id)));
    held.forEach(([id, release], i) => {
      const record = records[i];
      if (record && !isFinal(record.status)) return;
      release();
      tasks.delete(id);
    });
    if (tasks.size === 0) this.ownerTasks.delete(owner);
  }

  async predict(request: PredictRequest): Promise<Prediction> {
    this.requireSymbol(request.symbol, 'symbol');
    const options = validatePredictOptions(request.options);
    const series = await this.deps.bars.recent(request.symbol, request.interval, options.window);
    // Sized by the bars actually loaded: too short a history is refused inline, where its typed 422 survives (a worker's would not).
    const work = Math.min(options.window, series.length) * (options.order ?? options.maxOrder);
    return work <= INLINE_PREDICT_WORK ? predict(series, options) : this.deps.pool.predict(series, options);
  }

  /**
   * Validates a request (400 naming the field) and plans it from the upper bound of its bars:
   * 422 beyond the hard limit, else where it would run. The bars actually loaded decide in backtest().
   */
  plan(request: BacktestRequest): BacktestPlan {
    this.validate(request);
    return planBacktest(request.symbols.length, estimateBars(request.interval, request.from, request.to), this.limits);
  }

  private requireSymbol(symbol: unknown, field: string): void {
    if (typeof symbol !== 'string' || !this.deps.bars.exists(symbol)) throw new NotFoundError(`unknown symbol ${String(symbol)}`, { field, symbol });
  }

  private validate(request: BacktestRequest): void {
    if (request === null || typeof request !== 'object') throw new BadRequestError('payload must be an object', { field: 'payload' });
    if (!Object.hasOwn(INTERVAL_MS, request.interval)) throw new BadRequestError(`interval must be one of ${Object.keys(INTERVAL_MS).join(', ')}`, { field: 'interval' });
    validateParams(request.strategy?.type, request.strategy?.params ?? {});
    validateBacktestOptions(request.options ?? {});
    if (!Array.isArray(request.symbols) || request.symbols.length === 0 || !request.symbols.every((s) => typeof s === 'string')) {
      throw new BadRequestError('symbols must be a non-empty list of symbols', { field: 'symbols' });
    }
    const unknown = request.symbols.filter((symbol) => !this.deps.bars.exists(symbol));
    if (unknown.length > 0) throw new BadRequestError(`symbols: unknown symbol${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 10).join(', ')}`, { field: 'symbols', unknown: unknown.slice(0, 100) });
    const duplicates = duplicatesOf(request.symbols);
    if (duplicates.length > 0) {
      throw new BadRequestError(`symbols must be distinct: ${duplicates.slice(0, 10).join(', ')} appear${duplicates.length > 1 ? '' : 's'} more than once`, {
        field: 'symbols',
        duplicates: duplicates.slice(0, 100),
      });
    }
    if (request.symbols.length > MAX_SYMBOLS) {
      throw unprocessable('too_many_symbols', { count: request.symbols.length, limit: MAX_SYMBOLS }, { field: 'symbols', limit: MAX_SYMBOLS });
    }
    if (!Number.isFinite(request.from) || !Number.isFinite(request.to) || !(request.to > request.from)) {
      throw new BadRequestError('to must be a time after from', { field: 'to' });
    }
  }

  /** Runs a validated request now, whatever its size (queued tasks and strategy performance). */
  async evaluate(request: BacktestRequest, signal?: AbortSignal): Promise<BacktestJson> {
    const panel = await this.deps.bars.panel(request.symbols, request.interval, request.from, request.to);
    return this.run(panel, request, signal, undefined);
  }

  private async run(panel: BarPanel, request: BacktestRequest, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<BacktestJson> {
    if (panel.bars === 0) {
      throw unprocessable('no_bars', { interval: request.interval, symbols: request.symbols.slice(0, 5).join(', ') }, { from: request.from, to: request.to });
    }
    const spec = validateParams(request.strategy.type, request.strategy.params ?? {});
    const options = validateBacktestOptions({ ...(request.options as object | undefined), interval: request.interval });
    const run = { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
    const single = panel.symbols.length === 1;
    let result: BacktestResult;
    if (!this.usePool()) result = single ? runBacktest(panel.symbols[0]!, { ...panel, length: panel.bars }, spec, options) : runPortfolioBacktest(panel, spec, options);
    else if (single) result = await this.deps.pool.backtest(panel.symbols[0]!, { ...panel, length: panel.bars }, spec, options, run);
    else result = await this.deps.pool.portfolio(panel, spec, options, run);
    return backtestToJson(result);
  }
}

/** Symbols listed more than once (case-insensitive, as symbols are): each would be fetched and traded again. */
function duplicatesOf(symbols: readonly string[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const symbol of symbols) {
    const key = symbol.toUpperCase();
    if (seen.has(key)) duplicates.add(key);
    else seen.add(key);
  }
  return [...duplicates];
}
