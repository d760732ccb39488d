-- Short-lived API keys (a load test run's token): past expires_at the key no longer authenticates.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
