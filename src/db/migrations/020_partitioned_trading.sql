-- Partitioned trading ledger (issue 22.4): orders, executions and cash transactions range-partitioned by month
-- on their time column, so the hot set stays small, old months are detached and archived whole
-- (src/db/partitions.ts, docs/operations.md "Partitions"), and every hot query prunes to the months it needs.
--
-- Expand step of an expand/contract change (docs/operations.md): the partitioned tables are new
-- (trading_orders, trading_executions, trading_cash_transactions) and this release reads and writes only
-- them, while the unpartitioned tables stay complete for the previous release (a rolling deploy runs both, a
-- code roll-back runs the old one): statement triggers mirror each side's writes into the other. A later
-- release drops the mirror and the old tables (contract).
--
-- Unique keys of a partitioned table must contain the partition key, so PostgreSQL cannot index an order id
-- or a client order id across months. order_keys is that global index, one narrow row per order: it keeps
-- (account, client order id) unique across every month and tells a lookup by id which month to read.

-- The month partition of `parent` holding `ts` (UTC months, named <parent>_yYYYYmMM), created if missing.
CREATE FUNCTION tachyon_month_partition(parent text, ts timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  month timestamp := date_trunc('month', ts AT TIME ZONE 'UTC');
  name text := parent || to_char(month, '"_y"YYYY"m"MM');
BEGIN
  IF to_regclass(quote_ident(name)) IS NULL THEN
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     name, parent, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
      NULL; -- another session created it meanwhile
    END;
  END IF;
  RETURN name;
END $$;

CREATE TABLE trading_orders (
  id               bigint NOT NULL,
  account_id       bigint NOT NULL REFERENCES accounts (id),
  client_order_id  text,
  instrument_id    integer NOT NULL REFERENCES instruments (id),
  side             text NOT NULL CHECK (side IN ('buy', 'sell')),
  type             text NOT NULL CHECK (type IN ('market', 'limit', 'stop', 'stop_limit')),
  time_in_force    text NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
  quantity         bigint NOT NULL CHECK (quantity > 0),
  limit_price      bigint,
  stop_price       bigint,
  status           text NOT NULL,
  filled_quantity  bigint NOT NULL DEFAULT 0,
  filled_notional  bigint NOT NULL DEFAULT 0,
  reject_reason    text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  triggered        boolean NOT NULL DEFAULT false,
  reject_message   text,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
-- Order history newest first (keyset on created_at, id): partitions are read newest month first and the
-- scan stops at the page's end (ordered append), a cursor prunes the months after it.
CREATE INDEX trading_orders_account_created ON trading_orders (account_id, created_at DESC, id DESC);
CREATE INDEX trading_orders_account_status_created ON trading_orders (account_id, status, created_at DESC, id DESC);
-- Resting orders rebuilt into memory at start: a small partial index over open orders only.
CREATE INDEX trading_orders_open ON trading_orders (account_id) WHERE status IN ('accepted', 'partially_filled');

CREATE TABLE order_keys (
  id               bigint PRIMARY KEY,
  account_id       bigint NOT NULL,
  client_order_id  text,
  created_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX order_keys_account_client_id ON order_keys (account_id, client_order_id) WHERE client_order_id IS NOT NULL;

CREATE TABLE trading_executions (
  id             bigint NOT NULL,
  -- Deferred: the mirror triggers of one statement may insert a fill before its order's key.
  order_id       bigint NOT NULL REFERENCES order_keys (id) DEFERRABLE INITIALLY DEFERRED,
  account_id     bigint NOT NULL REFERENCES accounts (id),
  instrument_id  integer NOT NULL,
  side           text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity       bigint NOT NULL CHECK (quantity > 0),
  price          bigint NOT NULL CHECK (price > 0),
  fee            bigint NOT NULL DEFAULT 0,
  ts             timestamptz NOT NULL,
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX trading_executions_order ON trading_executions (order_id);
-- Reconciliation sums fills per (account, instrument); covering so it never touches the heap.
CREATE INDEX trading_executions_account_instrument ON trading_executions (account_id, instrument_id) INCLUDE (side, quantity, price, fee);

CREATE TABLE trading_cash_transactions (
  id             bigint NOT NULL,
  account_id     bigint NOT NULL REFERENCES accounts (id),
  kind           text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'trade', 'fee')),
  amount         bigint NOT NULL,
  balance_after  bigint NOT NULL,
  ref_id         bigint,
  ts             timestamptz NOT NULL,
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
-- Transactions newest first per account (keyset on ts, id), read newest month first like orders.
CREATE INDEX trading_cash_transactions_account ON trading_cash_transactions (account_id, ts DESC, id DESC);

-- Existing rows move inside this transaction (the embedded demo holds a few thousand; big servers follow
-- the online procedure in docs/operations.md). Partitions: every month holding rows, and this month plus two.
SELECT tachyon_month_partition(t.parent, m.month)
  FROM (VALUES ('trading_orders'), ('trading_executions'), ('trading_cash_transactions')) AS t(parent),
       (SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month FROM orders
        UNION SELECT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM executions
        UNION SELECT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM cash_transactions
        UNION SELECT now() + make_interval(months => k) FROM generate_series(0, 2) AS k) AS m;

INSERT INTO trading_orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
                            status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message)
SELECT id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
       status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message FROM orders;
INSERT INTO order_keys (id, account_id, client_order_id, created_at) SELECT id, account_id, client_order_id, created_at FROM orders;
INSERT INTO trading_executions (id, order_id, account_id, instrument_id, side, quantity, price, fee, ts)
SELECT id, order_id, account_id, instrument_id, side, quantity, price, fee, ts FROM executions;
INSERT INTO trading_cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts)
SELECT id, account_id, kind, amount, balance_after, ref_id, ts FROM cash_transactions;

-- The mirror. Statement triggers with transition tables: one set-based statement per batch, not one call per
-- row. A write the mirror itself makes (trigger depth 2) is not mirrored back.
-- The old tables' fill -> order check waits for the commit: mirrored fills may land before their orders.
ALTER TABLE executions ALTER CONSTRAINT executions_order_id_fkey DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION trading_orders_to_legacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  INSERT INTO orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
                      status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message)
  SELECT id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
         status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message FROM changed
  ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, filled_quantity = EXCLUDED.filled_quantity, filled_notional = EXCLUDED.filled_notional,
    triggered = EXCLUDED.triggered, updated_at = EXCLUDED.updated_at;
  RETURN NULL;
END $$;
CREATE TRIGGER trading_orders_mirror_insert AFTER INSERT ON trading_orders REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION trading_orders_to_legacy();
CREATE TRIGGER trading_orders_mirror_update AFTER UPDATE ON trading_orders REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION trading_orders_to_legacy();

CREATE FUNCTION trading_executions_to_legacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  INSERT INTO executions (id, order_id, account_id, instrument_id, side, quantity, price, fee, ts)
  SELECT id, order_id, account_id, instrument_id, side, quantity, price, fee, ts FROM changed ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER trading_executions_mirror AFTER INSERT ON trading_executions REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION trading_executions_to_legacy();

CREATE FUNCTION trading_cash_to_legacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  INSERT INTO cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts)
  SELECT id, account_id, kind, amount, balance_after, ref_id, ts FROM changed ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER trading_cash_mirror AFTER INSERT ON trading_cash_transactions REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION trading_cash_to_legacy();

-- The previous release's writes, into the partitioned tables (creating the month if it is missing).
CREATE FUNCTION legacy_orders_to_trading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM tachyon_month_partition('trading_orders', m) FROM (SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM changed) AS months;
  INSERT INTO order_keys (id, account_id, client_order_id, created_at) SELECT id, account_id, client_order_id, created_at FROM changed ON CONFLICT (id) DO NOTHING;
  INSERT INTO trading_orders (id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
                              status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message)
  SELECT id, account_id, client_order_id, instrument_id, side, type, time_in_force, quantity, limit_price, stop_price,
         status, filled_quantity, filled_notional, reject_reason, created_at, updated_at, triggered, reject_message FROM changed
  ON CONFLICT (id, created_at) DO UPDATE SET status = EXCLUDED.status, filled_quantity = EXCLUDED.filled_quantity, filled_notional = EXCLUDED.filled_notional,
    triggered = EXCLUDED.triggered, updated_at = EXCLUDED.updated_at;
  RETURN NULL;
END $$;
CREATE TRIGGER legacy_orders_mirror_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION legacy_orders_to_trading();
CREATE TRIGGER legacy_orders_mirror_update AFTER UPDATE ON orders REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION legacy_orders_to_trading();

CREATE FUNCTION legacy_executions_to_trading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM tachyon_month_partition('trading_executions', m) FROM (SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM changed) AS months;
  INSERT INTO trading_executions (id, order_id, account_id, instrument_id, side, quantity, price, fee, ts)
  SELECT id, order_id, account_id, instrument_id, side, quantity, price, fee, ts FROM changed ON CONFLICT (id, ts) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER legacy_executions_mirror AFTER INSERT ON executions REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION legacy_executions_to_trading();

CREATE FUNCTION legacy_cash_to_trading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;
  PERFORM tachyon_month_partition('trading_cash_transactions', m) FROM (SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM changed) AS months;
  INSERT INTO trading_cash_transactions (id, account_id, kind, amount, balance_after, ref_id, ts)
  SELECT id, account_id, kind, amount, balance_after, ref_id, ts FROM changed ON CONFLICT (id, ts) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER legacy_cash_mirror AFTER INSERT ON cash_transactions REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION legacy_cash_to_trading();

-- Archived (detached) partitions live here until restored or dropped by hand.
CREATE SCHEMA IF NOT EXISTS archive;
