-- Rollouts (issue 21): canary and blue-green releases on `tachyon cluster`. As with scaling (008), the
-- database is where the cluster's rollout controller and the instances' admin API meet: the API
-- inserts a rollout and asks for promote/abort; the controller runs it and writes its progress, step
-- analyses and outcome. Rows are kept: they are the history.
CREATE TABLE rollouts (
  id            bigserial PRIMARY KEY,
  strategy      text NOT NULL CHECK (strategy IN ('canary', 'blue-green')),
  status        text NOT NULL,
  -- At most one rollout runs at a time (the partial unique index below); false once it has ended.
  active        boolean NOT NULL DEFAULT true,
  -- The new version (directory, environment overrides), steps, analysis window and thresholds.
  spec          jsonb NOT NULL,
  requested_by  text NOT NULL,
  -- 'promote' or 'abort' asked through the API, taken by the controller at its next poll.
  action        text,
  action_by     text,
  -- The new version's share of the traffic now, in percent.
  share         integer NOT NULL DEFAULT 0,
  -- Each step: share, start and end, the analysis with every metric's numbers, outcome.
  steps         jsonb NOT NULL DEFAULT '[]',
  -- The new version's instances (name, url) while they run.
  instances     jsonb NOT NULL DEFAULT '[]',
  reason        text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (active) WHERE active;
CREATE INDEX rollouts_created ON rollouts (created_at DESC);
-- The controller's heartbeat (one row): a cluster that can run rollouts, and its stable instances.
CREATE TABLE rollout_controller (
  id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  cluster      jsonb NOT NULL,
  interval_ms  integer NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
