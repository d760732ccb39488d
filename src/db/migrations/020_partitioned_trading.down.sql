-- Undoes 020_partitioned_trading. The unpartitioned tables hold every row (the mirror kept them complete), so
-- the partitioned ones are dropped with their partitions. Archived partitions (schema archive) are kept.
DROP TRIGGER IF EXISTS legacy_orders_mirror_insert ON orders;
DROP TRIGGER IF EXISTS legacy_orders_mirror_update ON orders;
DROP TRIGGER IF EXISTS legacy_executions_mirror ON executions;
DROP TRIGGER IF EXISTS legacy_cash_mirror ON cash_transactions;
DROP TABLE IF EXISTS trading_executions, trading_cash_transactions, trading_orders, order_keys;
DROP FUNCTION IF EXISTS trading_orders_to_legacy(), trading_executions_to_legacy(), trading_cash_to_legacy(),
  legacy_orders_to_trading(), legacy_executions_to_trading(), legacy_cash_to_trading(), tachyon_month_partition(text, timestamptz);
ALTER TABLE executions ALTER CONSTRAINT executions_order_id_fkey NOT DEFERRABLE INITIALLY IMMEDIATE;
