-- Load-test runs started through the admin API (/api/performance/tests): what was asked, how it
-- went, and the full RunResult (metrics, per-second timeline, thresholds, HDR histograms). The HTML
-- report is rendered from `result` on request rather than stored twice.
CREATE TABLE load_test_runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instance_id text        NOT NULL,
  scenario    text        NOT NULL,
  target      text        NOT NULL,
  options     jsonb       NOT NULL,
  status      text        NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'cancelled', 'error')),
  created_by  bigint      REFERENCES users (id) ON DELETE SET NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  summary     jsonb,
  result      jsonb,
  error       text
);
-- History pages walk the primary key backwards (newest first, cursor = last id seen): no extra index.
