-- One row per history load (`tachyon seed`, the first start's background seeding). Servers poll the
-- newest id and drop cached bar ranges and forecasts when it grows, whichever process loaded it:
-- an answer cached while a symbol had no history must not outlive the backfill.
CREATE TABLE history_loads (
  id        bigserial   PRIMARY KEY,
  from_ms   bigint      NOT NULL,
  to_ms     bigint      NOT NULL,
  rows      bigint      NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
