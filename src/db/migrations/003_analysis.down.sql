-- Undoes 003_analysis. The headline columns are derived from `metrics` (kept), so nothing is lost but
-- the task owners (a queued task then answers 404 until it is resubmitted).
DROP TABLE IF EXISTS analysis_tasks;
ALTER TABLE strategy_performance
  DROP COLUMN IF EXISTS trades,
  DROP COLUMN IF EXISTS win_rate,
  DROP COLUMN IF EXISTS max_drawdown,
  DROP COLUMN IF EXISTS sortino,
  DROP COLUMN IF EXISTS sharpe,
  DROP COLUMN IF EXISTS cagr,
  DROP COLUMN IF EXISTS total_return,
  DROP COLUMN IF EXISTS error,
  DROP COLUMN IF EXISTS symbols,
  DROP COLUMN IF EXISTS bars;
