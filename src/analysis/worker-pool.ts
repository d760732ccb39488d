/**
 * Worker-thread pool for analysis CPU work (piscina), sized to the cores. Every task has a deadline
 * (AbortSignal): a task past it has its thread terminated and replaced, so a runaway backtest costs
 * one thread restart, never the process. Each thread has a heap limit (resourceLimits); a task that
 * exceeds it kills only its own thread and fails with ERR_WORKER_OUT_OF_MEMORY. Threads start on
 * demand and stop after `idleTimeoutMs` without work: each holds ~25-50 MiB (its isolate, heap and
 * module graph), which an instance that is not analysing should not pay (bench:memory).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { COMPILED, runnableModule } from '../kernel/project-files.ts';
import type { BacktestOptions } from './backtest-options.ts';
import { mergePortfolio, portfolioChunks, type BacktestResult, type PortfolioPartial } from './backtest.ts';
import type { PredictOptions, Prediction } from './predict.ts';
import { allocPanel, type BarPanel, type BarSeries } from './series.ts';
import type { StrategySpec } from './strategies/catalogue.ts';
import type { WorkerTask } from './worker.ts';

export interface AnalysisPoolOptions {
  /** Threads; defaults to os.availableParallelism(). */
  threads?: number;
  /** Default deadline per task. */
  taskTimeoutMs?: number;
  /** Old-generation heap limit per thread. */
  maxMemoryMb?: number;
  /** A thread idle this long is stopped (the next task starts one again). */
  idleTimeoutMs?: number;
  /** Worker entry; tests substitute their own. */
  filename?: string | URL;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A task that ran past its deadline; its thread was terminated. */
export class TaskTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`analysis task exceeded its ${timeoutMs} ms deadline`);
    this.name = 'TaskTimeoutError';
  }
}

export interface PoolStats {
  threads: number;
  queued: number;
  completed: number;
  /** Fraction of thread capacity used since start (piscina's utilization). */
  utilization: number;
}

export class AnalysisPool {
  private piscina: Piscina | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: AnalysisPoolOptions = {}) {
    this.timeoutMs = options.taskTimeoutMs ?? 30_000;
  }

  /** Threads start on first use: a platform that never analyses pays nothing for them. */
  private get pool(): Piscina {
    if (this.piscina) return this.piscina;
    const threads = this.options.threads || availableParallelism();
    // Compiled, the thread loads worker.js itself; from the sources it needs the bootstrap that registers tsx.
    const filename = this.options.filename ?? (COMPILED ? runnableModule('./worker.ts', import.meta.url) : new URL('./worker-bootstrap.mjs', import.meta.url));
    this.piscina = new Piscina({
      filename: filename instanceof URL ? filename.href : filename,
      minThreads: 0,
      maxThreads: threads,
      // Starting a thread costs more than a typical task, so a busy pool keeps its threads; an idle one gives the memory back.
      idleTimeout: this.options.idleTimeoutMs ?? 30_000,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxMemoryMb ?? 512 },
    });
    return this.piscina;
  }

  /** Runs one task; rejects with TaskTimeoutError past the deadline, or the caller's abort reason. */
  async run<R>(task: unknown, options: RunOptions = {}): Promise<R> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    try {
      return (await this.pool.run(task, { signal })) as R;
    } catch (error) {
      if (deadline.aborted) throw new TaskTimeoutError(timeoutMs);
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      throw error;
    }
  }

  backtest(symbol: string, series: BarSeries, spec: StrategySpec, options: BacktestOptions, run?: RunOptions): Promise<BacktestResult> {
    return this.run<BacktestResult>({ kind: 'backtest', symbol, series, spec, options } satisfies WorkerTask, run);
  }

  predict(series: BarSeries, options: PredictOptions, run?: RunOptions): Promise<Prediction> {
    return this.run<Prediction>({ kind: 'predict', series, options } satisfies WorkerTask, run);
  }

  /**
   * A portfolio fanned out over the threads in fixed chunks and merged in chunk order: the result
   * equals runPortfolioBacktest's. The first failing chunk aborts the others.
   */
  async portfolio(panel: BarPanel, spec: StrategySpec, options: BacktestOptions, run: RunOptions = {}): Promise<BacktestResult> {
    const shared = sharedPanel(panel);
    const abort = new AbortController();
    const signal = run.signal ? AbortSignal.any([abort.signal, run.signal]) : abort.signal;
    const { symbols, ...columns } = shared;
    const chunks = portfolioChunks(symbols.length).map(([from, to]) =>
      this.run<PortfolioPartial>({ kind: 'portfolio-chunk', panel: columns, symbolCount: symbols.length, spec, options, from, to } satisfies WorkerTask, {
        timeoutMs: run.timeoutMs,
        signal,
      }),
    );
    try {
      return mergePortfolio(shared, spec, options, await Promise.all(chunks));
    } catch (error) {
      abort.abort(error);
      await Promise.allSettled(chunks);
      throw error;
    }
  }

  stats(): PoolStats {
    const pool = this.piscina;
    return pool ? { threads: pool.threads.length, queued: pool.queueSize, completed: pool.completed, utilization: pool.utilization } : { threads: 0, queued: 0, completed: 0, utilization: 0 };
  }

  /** Terminates the threads; queued tasks are rejected. */
  async close(): Promise<void> {
    await this.piscina?.destroy();
  }
}

/** The panel itself when it already lives in shared memory; otherwise one copy into shared memory. */
function sharedPanel(panel: BarPanel): BarPanel {
  if (panel.close.buffer instanceof SharedArrayBuffer) return panel;
  const copy = allocPanel(panel.symbols, panel.bars, true);
  copy.ts.set(panel.ts);
  copy.open.set(panel.open);
  copy.high.set(panel.high);
  copy.low.set(panel.low);
  copy.close.set(panel.close);
  copy.volume.set(panel.volume);
  return copy;
}
