-- order_keys retention (issue 22): the keys of orders whose month is archived are pruned by partition
-- maintenance (src/db/partitions.ts pruneOrderKeys), oldest first, in batches found through this index.
CREATE INDEX order_keys_created ON order_keys (created_at);
