-- The cache's database tier: results that are expensive to compute (strategy performance, bar
-- roll-ups) kept past a restart or an L1/L2 eviction, until they expire or an event invalidates
-- them. Rows are disposable: losing one costs a recomputation, never a wrong answer.
CREATE TABLE cache_computed_results (
  class       text        NOT NULL,
  key         text        NOT NULL,
  value       jsonb       NOT NULL,
  -- Invalidation by tag (an account, a strategy, a symbol's open bar ranges) deletes by overlap.
  tags        text[]      NOT NULL DEFAULT '{}',
  computed_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (class, key)
);
CREATE INDEX cache_computed_results_tags ON cache_computed_results USING gin (tags);
CREATE INDEX cache_computed_results_expires ON cache_computed_results (expires_at);
