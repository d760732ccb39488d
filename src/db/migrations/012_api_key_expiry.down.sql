-- Undoes 012_api_key_expiry. Short-lived keys would outlive their expiry without the column, so they
-- are revoked first (a load test run's token), then the column goes.
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE expires_at IS NOT NULL;
ALTER TABLE api_keys DROP COLUMN IF EXISTS expires_at;
