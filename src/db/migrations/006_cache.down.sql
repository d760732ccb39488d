-- Undoes 006_cache: the database cache tier is disposable by design (a row costs a recomputation).
DROP TABLE IF EXISTS cache_computed_results;
