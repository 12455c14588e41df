-- carebase 0036: rate limits per account as well as per network, and release of a reserved hit.
--
-- auth_rate_limits.source becomes text so one table counts both kinds of key:
--   * a network, as the CIDR text PostgreSQL computes (network(set_masklen(ip, prefix))::text),
--     for the scopes 'failure' and 'reset_request' (as before);
--   * a subject: 'sha256:' and the hex SHA-256 of a namespaced key, never a login or an email in
--     clear, for 'reset_login' (password-reset requests per login) and 'verification_request'
--     (email-verification requests per account).
-- A hit is now reserved before the work it limits (one transaction under a transaction-scoped
-- advisory lock per key, so concurrent callers never pass a limit) and given back when the work
-- turns out not to be a failure: hits may drop to 0 (such rows are pruned like old buckets).

-- carebase:lint-ignore-file changing-column-type, constraint-missing-not-valid: auth_rate_limits holds at most one window (15 minutes) of minute buckets, a few rows per active network: the rewrite and the scans are instant
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_scope_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_hits_check;
ALTER TABLE auth_rate_limits ALTER COLUMN source TYPE text USING source::text;
ALTER TABLE auth_rate_limits
  ADD CONSTRAINT auth_rate_limits_scope_check
    CHECK (scope IN ('failure', 'reset_request', 'reset_login', 'verification_request')),
  ADD CONSTRAINT auth_rate_limits_hits_check CHECK (hits >= 0),
  ADD CONSTRAINT auth_rate_limits_source_check CHECK (length(source) <= 100);

-- carebase:down
DELETE FROM auth_rate_limits WHERE scope NOT IN ('failure', 'reset_request') OR hits = 0;
ALTER TABLE auth_rate_limits DROP CONSTRAINT IF EXISTS auth_rate_limits_source_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_scope_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_hits_check;
ALTER TABLE auth_rate_limits ALTER COLUMN source TYPE cidr USING source::cidr;
ALTER TABLE auth_rate_limits
  ADD CONSTRAINT auth_rate_limits_scope_check CHECK (scope IN ('failure', 'reset_request')),
  ADD CONSTRAINT auth_rate_limits_hits_check CHECK (hits > 0);
