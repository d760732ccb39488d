-- Undoes 014_rollouts: the rollout history and the controller heartbeat.
DROP TABLE IF EXISTS rollout_controller;
DROP TABLE IF EXISTS rollouts;
