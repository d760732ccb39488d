-- Predictive scaling (issue 16, src/scaling/predictive.ts): what the metrics asked for, per minute, so the
-- autoscaler can take the median of previous days at the same minute as a floor before a known burst
-- (the market open). One row per minute: the highest metric-driven recommendation in it (instances).
CREATE TABLE scaling_demand (
  minute  timestamptz PRIMARY KEY,
  needed  integer NOT NULL CHECK (needed >= 0)
);
