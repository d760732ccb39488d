-- Undoes 013_flag_rollouts: flags fall back to TACHYON_FLAGS and their defaults; their history and
-- experiments are dropped.
DROP TABLE IF EXISTS feature_flag_experiment_samples, feature_flag_experiments, feature_flag_changes, feature_flag_states;
