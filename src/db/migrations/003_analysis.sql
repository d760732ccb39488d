-- Analysis (issue 4). `strategies` and `strategy_performance` already exist (001_initial); this adds
-- what the analysis routes need on top of them.

-- Headline metrics as real columns, derived from the stored `metrics` document so they can never
-- disagree with it: listings sort and filter on them without parsing JSON per row.
ALTER TABLE strategy_performance
  ADD COLUMN bars          integer NOT NULL DEFAULT 0,
  ADD COLUMN symbols       integer NOT NULL DEFAULT 0,
  ADD COLUMN error         text,
  ADD COLUMN total_return  double precision GENERATED ALWAYS AS ((metrics ->> 'totalReturn')::double precision) STORED,
  ADD COLUMN cagr          double precision GENERATED ALWAYS AS ((metrics ->> 'cagr')::double precision) STORED,
  ADD COLUMN sharpe        double precision GENERATED ALWAYS AS ((metrics ->> 'sharpe')::double precision) STORED,
  ADD COLUMN sortino       double precision GENERATED ALWAYS AS ((metrics ->> 'sortino')::double precision) STORED,
  ADD COLUMN max_drawdown  double precision GENERATED ALWAYS AS ((metrics ->> 'maxDrawdown')::double precision) STORED,
  ADD COLUMN win_rate      double precision GENERATED ALWAYS AS ((metrics ->> 'winRate')::double precision) STORED,
  ADD COLUMN trades        integer GENERATED ALWAYS AS ((metrics ->> 'trades')::integer) STORED;

-- Who created which queued task. The queue (in-process or BullMQ) holds status and result; this row
-- is what makes another user's task answer 404, on every instance sharing the database.
CREATE TABLE analysis_tasks (
  id          uuid PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
