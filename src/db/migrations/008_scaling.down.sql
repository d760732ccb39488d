-- Undoes 008_scaling: the scaling configuration, status, pending requests and event history are dropped.
DROP TABLE IF EXISTS scaling_events, scaling_requests, scaling_status, scaling_config;
