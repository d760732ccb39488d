-- Undoes 019_scaling_demand: the per-minute demand history is dropped (predictive scaling then has no floor).
DROP TABLE IF EXISTS scaling_demand;
