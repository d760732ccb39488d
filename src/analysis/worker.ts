/**
 * The analysis worker's task dispatcher: CPU work that must not run on the request event loop.
 * Inputs arrive already validated by the main thread (typed errors do not survive the thread
 * boundary); panels backed by SharedArrayBuffer are read in place, not copied.
 */
import type { BacktestOptions } from './backtest-options.ts';
import { runBacktest, runPortfolioChunk, type BacktestResult, type PortfolioPartial } from './backtest.ts';
import { predict, type PredictOptions, type Prediction } from './predict.ts';
import type { BarSeries, PanelColumns } from './series.ts';
import type { StrategySpec } from './strategies/catalogue.ts';

export type WorkerTask =
  | { kind: 'backtest'; symbol: string; series: BarSeries; spec: StrategySpec; options: BacktestOptions }
  | { kind: 'portfolio-chunk'; panel: PanelColumns; symbolCount: number; spec: StrategySpec; options: BacktestOptions; from: number; to: number }
  | { kind: 'predict'; series: BarSeries; options: PredictOptions };

export type WorkerResult = BacktestResult | PortfolioPartial | Prediction;

export default function handle(task: WorkerTask): WorkerResult {
  switch (task.kind) {
    case 'backtest':
      return runBacktest(task.symbol, task.series, task.spec, task.options);
    case 'portfolio-chunk':
      return runPortfolioChunk(task.panel, task.symbolCount, task.spec, task.options, task.from, task.to);
    case 'predict':
      return predict(task.series, task.options);
    default:
      throw new Error(`unknown analysis task kind: ${(task as { kind: string }).kind}`);
  }
}
