-- Auto-scaling (issue 16). The database is where the cluster's autoscaler and the instances' scaling
-- API meet: whichever instance answers reads and writes the same rows. Times are the database's
-- now() (the cluster process and the instances may run on different machines).
-- The configuration (one row; src/scaling/hpa.ts ScalingConfig as JSON), applied at the next evaluation.
CREATE TABLE scaling_config (
  id          smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  config      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The autoscaler's latest view (instances, metrics, decision), rewritten every evaluation. A row older
-- than a few intervals means no autoscaling cluster is running: the API then says single-instance.
CREATE TABLE scaling_status (
  id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  status       jsonb NOT NULL,
  interval_ms  integer NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Manual counts asked through the API, taken (deleted) by the autoscaler at its next evaluation.
CREATE TABLE scaling_requests (
  id            bigserial PRIMARY KEY,
  count         integer NOT NULL,
  reason        text NOT NULL,
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now()
);
-- Every scaling event with its inputs: the metrics, the decision, and how long the change took.
CREATE TABLE scaling_events (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  from_count   integer NOT NULL,
  to_count     integer NOT NULL,
  trigger      text NOT NULL,
  reason       text NOT NULL,
  metrics      jsonb NOT NULL,
  decision     jsonb,
  -- Scale-up: until every new instance was ready and in the load balancer; scale-down: until drained and stopped.
  duration_ms  integer NOT NULL
);
CREATE INDEX scaling_events_at ON scaling_events (at DESC);
