-- Cluster coordination (issue 13). A lease is a named right held by one instance until it expires:
-- account shards ('shard:<n>'), the market-feed leader ('feed'), periodic jobs. Time is the
-- database's own now(), so instances with skewed clocks agree. The epoch grows every time the lease
-- is acquired anew (never on a renewal): a writer that checks holder and epoch in the same statement as
-- its write cannot commit after another instance took the lease over (fencing), even if it was paused.
CREATE TABLE cluster_leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  epoch       bigint NOT NULL,
  expires_at  timestamptz NOT NULL,
  -- Where the holder answers internal requests (forwarded commands), when it has an address.
  address     text
);
