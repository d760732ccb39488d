-- Undoes 004_loadtest: the stored load-test runs (and their reports) are dropped.
DROP TABLE IF EXISTS load_test_runs;
