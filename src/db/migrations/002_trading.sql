-- Trading (issue 3). Ids of orders, executions and cash transactions come in blocks from one
-- sequence: an instance reserves a block with one nextval and hands ids out from memory, so ids are
-- unique across every instance sharing the database and increasing within an instance.
CREATE SEQUENCE trading_id_blocks START WITH 1 INCREMENT BY 1;

-- A stop-limit order that has triggered rests as a limit order: the trigger must survive restarts.
ALTER TABLE orders ADD COLUMN triggered boolean NOT NULL DEFAULT false;
-- Rejections keep their human message next to the machine code (reject_reason), for replays.
ALTER TABLE orders ADD COLUMN reject_message text;
-- Order listings filtered by status keep the (created_at, id) keyset order.
CREATE INDEX orders_account_status_created ON orders (account_id, status, created_at DESC, id DESC);

-- Equity curve: one row per account per snapshot interval (GET /api/portfolio/history). Computing it
-- from transactions would need the price of every held symbol at every point in time; a snapshot
-- is one narrow row per account per minute and reads with one primary-key range scan.
CREATE TABLE portfolio_snapshots (
  account_id  bigint NOT NULL REFERENCES accounts (id),
  ts          timestamptz NOT NULL,
  equity      bigint NOT NULL,
  cash        bigint NOT NULL,
  PRIMARY KEY (account_id, ts)
);
