-- Undoes 021_order_keys_retention.
DROP INDEX IF EXISTS order_keys_created;
