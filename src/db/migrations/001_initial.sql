-- Tachyon initial schema. Money and prices are BIGINT counts of 1/10,000 of the currency unit
-- (see src/kernel/money.ts): exact, and cheaper to compare and sum than NUMERIC.

CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  role        text NOT NULL CHECK (role IN ('trader', 'admin')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stored only as SHA-256 hashes. Authentication looks a token up by its hash on every
-- cold request: a partial unique index over live keys, covering user_id, answers it index-only.
CREATE TABLE api_keys (
  id            bigserial PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash    text NOT NULL,
  prefix        text NOT NULL,
  label         text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_keys_live_hash ON api_keys (token_hash) INCLUDE (user_id) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Paper trading accounts; one writer per account in memory, this row is its durable image.
CREATE TABLE accounts (
  id            bigserial PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name          text NOT NULL DEFAULT 'paper',
  currency      text NOT NULL DEFAULT 'USD',
  opening_cash  bigint NOT NULL CHECK (opening_cash >= 0),
  cash          bigint NOT NULL,
  allow_short   boolean NOT NULL DEFAULT false,
  limits        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_user ON accounts (user_id);

CREATE TABLE instruments (
  id          integer PRIMARY KEY,
  symbol      text NOT NULL UNIQUE,
  name        text NOT NULL,
  sector      text NOT NULL,
  exchange    text NOT NULL,
  tick_size   bigint NOT NULL CHECK (tick_size > 0),
  lot_size    integer NOT NULL CHECK (lot_size > 0),
  base_price  bigint NOT NULL CHECK (base_price > 0),
  volatility  double precision NOT NULL,
  avg_volume  bigint NOT NULL,
  tradable    boolean NOT NULL DEFAULT true
);
-- Sector filter with symbol order (the instruments listing pages by symbol within a sector).
CREATE INDEX instruments_sector_symbol ON instruments (sector, symbol);

-- Latest quote per instrument, snapshotted from memory in batches so prices survive restarts.
CREATE TABLE quotes_latest (
  instrument_id integer PRIMARY KEY REFERENCES instruments (id),
  bid           bigint NOT NULL,
  ask           bigint NOT NULL,
  last          bigint NOT NULL,
  volume        bigint NOT NULL,
  ts            timestamptz NOT NULL
);

-- 1-minute bars, range-partitioned by month (partitions are created ahead of inserts by the bar store).
-- The primary key (instrument_id, ts) is the one access path: one symbol over a time range, read
-- forwards for charts and backwards ("latest N bars") with the same index; pruning skips months.
CREATE TABLE bars_1m (
  instrument_id integer NOT NULL,
  ts            timestamptz NOT NULL,
  open          bigint NOT NULL,
  high          bigint NOT NULL,
  low           bigint NOT NULL,
  close         bigint NOT NULL,
  volume        bigint NOT NULL,
  PRIMARY KEY (instrument_id, ts)
) PARTITION BY RANGE (ts);

-- Daily roll-up of closed sessions (the materialized-view role): 1d bars over years read a few
-- hundred rows instead of aggregating hundreds of thousands of minutes.
CREATE TABLE bars_1d (
  instrument_id integer NOT NULL,
  day           date NOT NULL,
  open          bigint NOT NULL,
  high          bigint NOT NULL,
  low           bigint NOT NULL,
  close         bigint NOT NULL,
  volume        bigint NOT NULL,
  PRIMARY KEY (instrument_id, day)
);

CREATE TABLE orders (
  id               bigint PRIMARY KEY,
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
  updated_at       timestamptz NOT NULL
);
-- Idempotent replay: one client order id per account (partial: most orders carry none).
CREATE UNIQUE INDEX orders_account_client_id ON orders (account_id, client_order_id) WHERE client_order_id IS NOT NULL;
-- Order history newest first with keyset pagination (created_at, id) — descending composite.
CREATE INDEX orders_account_created ON orders (account_id, created_at DESC, id DESC);
-- Resting orders rebuilt into memory at start: a small partial index over open orders only.
CREATE INDEX orders_open ON orders (instrument_id) WHERE status IN ('accepted', 'partially_filled');

CREATE TABLE executions (
  id             bigint PRIMARY KEY,
  order_id       bigint NOT NULL REFERENCES orders (id),
  account_id     bigint NOT NULL REFERENCES accounts (id),
  instrument_id  integer NOT NULL,
  side           text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity       bigint NOT NULL CHECK (quantity > 0),
  price          bigint NOT NULL CHECK (price > 0),
  fee            bigint NOT NULL DEFAULT 0,
  ts             timestamptz NOT NULL
);
CREATE INDEX executions_order ON executions (order_id);
-- Reconciliation sums fills per (account, instrument); covering so it never touches the heap.
CREATE INDEX executions_account_instrument ON executions (account_id, instrument_id) INCLUDE (side, quantity, price, fee);

CREATE TABLE cash_transactions (
  id             bigint PRIMARY KEY,
  account_id     bigint NOT NULL REFERENCES accounts (id),
  kind           text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'trade', 'fee')),
  amount         bigint NOT NULL,
  balance_after  bigint NOT NULL,
  ref_id         bigint,
  ts             timestamptz NOT NULL
);
-- Transactions newest first per account (keyset pagination by id, which is time-ordered).
CREATE INDEX cash_transactions_account ON cash_transactions (account_id, id DESC);

CREATE TABLE positions (
  account_id     bigint NOT NULL REFERENCES accounts (id),
  instrument_id  integer NOT NULL REFERENCES instruments (id),
  quantity       bigint NOT NULL,
  cost_basis     bigint NOT NULL,
  realized_pnl   bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (account_id, instrument_id)
);

CREATE TABLE strategies (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name        text NOT NULL,
  type        text NOT NULL,
  config      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX strategies_user ON strategies (user_id, updated_at DESC);
-- Configuration queries by containment (e.g. every strategy trading a symbol): jsonb_path_ops GIN.
CREATE INDEX strategies_config ON strategies USING gin (config jsonb_path_ops);

CREATE TABLE strategy_performance (
  strategy_id  bigint PRIMARY KEY REFERENCES strategies (id) ON DELETE CASCADE,
  computed_at  timestamptz NOT NULL,
  data_from    timestamptz,
  data_to      timestamptz,
  metrics      jsonb NOT NULL,
  equity       jsonb NOT NULL DEFAULT '[]'::jsonb
);
