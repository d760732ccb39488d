-- Feature flags as rollouts (issue 21). A flag's runtime state is shared by every instance and
-- survives restarts: off, on, on for a percentage of accounts (stable hashing of flag and account) or
-- of requests. No row: the flag follows TACHYON_FLAGS and its default.
CREATE TABLE feature_flag_states (
  name        text PRIMARY KEY,
  mode        text NOT NULL CHECK (mode IN ('off', 'on', 'accounts', 'requests')),
  percent     double precision NOT NULL DEFAULT 0 CHECK (percent >= 0 AND percent <= 100),
  -- The experiment this state belongs to, while one runs (instances record latency per cohort).
  experiment  bigint,
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Audit history: who changed which flag, when, from what to what, and why. A null state is "no
-- persisted state" (the flag followed its configuration).
CREATE TABLE feature_flag_changes (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  old_state  jsonb,
  new_state  jsonb,
  reason     text NOT NULL DEFAULT ''
);
-- A flag's history newest first.
CREATE INDEX feature_flag_changes_name ON feature_flag_changes (name, id DESC);

-- Experiments: a flag on for a share of accounts for a while, latency compared per cohort, then the
-- previous state restored. Every instance writes its cohorts' HDR histograms into the samples.
CREATE TABLE feature_flag_experiments (
  id          bigserial PRIMARY KEY,
  flag        text NOT NULL,
  percent     double precision NOT NULL CHECK (percent > 0 AND percent < 100),
  status      text NOT NULL CHECK (status IN ('running', 'completed', 'aborted')),
  previous    jsonb,
  started_by  text NOT NULL,
  reason      text NOT NULL DEFAULT '',
  started_at  timestamptz NOT NULL DEFAULT now(),
  ends_at     timestamptz NOT NULL,
  ended_at    timestamptz,
  result      jsonb
);
-- At most one running experiment per flag.
CREATE UNIQUE INDEX feature_flag_experiments_running ON feature_flag_experiments (flag) WHERE status = 'running';

CREATE TABLE feature_flag_experiment_samples (
  experiment_id  bigint NOT NULL REFERENCES feature_flag_experiments (id) ON DELETE CASCADE,
  instance_id    text NOT NULL,
  cohort         text NOT NULL CHECK (cohort IN ('on', 'off')),
  -- HdrHistogram compressed base64 of request latency in microseconds (merged exactly when read).
  histogram      text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, instance_id, cohort)
);
