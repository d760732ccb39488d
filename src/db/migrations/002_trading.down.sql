-- Undoes 002_trading. The equity snapshots are dropped with their table; orders keep every other column.
DROP TABLE IF EXISTS portfolio_snapshots;
DROP INDEX IF EXISTS orders_account_status_created;
ALTER TABLE orders DROP COLUMN IF EXISTS reject_message, DROP COLUMN IF EXISTS triggered;
DROP SEQUENCE IF EXISTS trading_id_blocks;
