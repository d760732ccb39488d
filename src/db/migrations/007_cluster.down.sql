-- Undoes 007_cluster. Run it only with every instance stopped: the leases are the one-writer guarantee.
DROP TABLE IF EXISTS cluster_leases;
