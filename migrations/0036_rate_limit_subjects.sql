-- carebase 0036: rate limits per account as well as per network, and release of a reserved hit.
--
-- auth_rate_limits.source becomes text so one table counts both kinds of key:
--   * a network, as the CIDR text PostgreSQL computes (network(set_masklen(ip, prefix))::text),
--     for the scopes 'failure' and 'reset_request' (as before);
--   * a subject: 'sha256:' and the hex SHA-256 of a namespaced key, never a login or an email in
--     clear, for 'reset_login' (password-reset requests per login) and 'verification_request'
--     (email-verification requests per account).
-- A hit is now reserved before the work it limits (auth_rate_limit_take below: one call under a
-- transaction-scoped advisory lock per key, so concurrent callers never pass a limit) and given
-- back when the work turns out not to be a failure: hits may drop to 0 (such rows are pruned like
-- old buckets).

-- carebase:lint-ignore-file changing-column-type, constraint-missing-not-valid: auth_rate_limits holds at most one window (15 minutes) of minute buckets, a few rows per active network: the rewrite and the scans are instant
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_scope_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_hits_check;
ALTER TABLE auth_rate_limits ALTER COLUMN source TYPE text USING source::text;
ALTER TABLE auth_rate_limits
  ADD CONSTRAINT auth_rate_limits_scope_check
    CHECK (scope IN ('failure', 'reset_request', 'reset_login', 'verification_request')),
  ADD CONSTRAINT auth_rate_limits_hits_check CHECK (hits >= 0),
  ADD CONSTRAINT auth_rate_limits_source_check CHECK (length(source) <= 100);

-- Reserves one hit of (scope, key) in the bucket p_bucket when the window (buckets after p_from)
-- holds fewer than p_max, in one call (one round trip): the transaction-scoped advisory lock on
-- (scope, key) comes first, and in a VOLATILE function every statement after it takes a fresh
-- snapshot, so it sees every hit committed by the callers that held the lock before: concurrent
-- callers never pass p_max. Prunes buckets older than p_prune_before (and emptied older ones).
-- Returns the window's buckets (oldest first; unchanged when the hit was refused, for the retry
-- time) with whether the hit was taken: one row with a NULL bucket when the window is empty.
CREATE FUNCTION auth_rate_limit_take(
  p_scope text, p_key text, p_bucket timestamptz, p_from timestamptz, p_prune_before timestamptz, p_max integer
) RETURNS TABLE (bucket_start timestamptz, hits integer, taken boolean)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
  total bigint;
  ok boolean := false;
BEGIN
  PERFORM pg_advisory_xact_lock(1667396204, hashtext(p_scope || ' ' || p_key));
  SELECT coalesce(sum(l.hits), 0) INTO total FROM auth_rate_limits l
  WHERE l.scope = p_scope AND l.source = p_key AND l.bucket_start > p_from;
  IF total < p_max THEN
    INSERT INTO auth_rate_limits AS l (scope, source, bucket_start, hits) VALUES (p_scope, p_key, p_bucket, 1)
    ON CONFLICT ON CONSTRAINT auth_rate_limits_pkey DO UPDATE SET hits = l.hits + 1;
    ok := true;
  END IF;
  DELETE FROM auth_rate_limits l WHERE l.bucket_start < p_prune_before OR (l.hits = 0 AND l.bucket_start < p_bucket);
  RETURN QUERY
    SELECT l.bucket_start, l.hits, ok FROM auth_rate_limits l
    WHERE l.scope = p_scope AND l.source = p_key AND l.bucket_start > p_from
    ORDER BY l.bucket_start;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::timestamptz, 0, ok;
  END IF;
END
$$;

-- carebase:down
DROP FUNCTION IF EXISTS auth_rate_limit_take(text, text, timestamptz, timestamptz, timestamptz, integer);
DELETE FROM auth_rate_limits WHERE scope NOT IN ('failure', 'reset_request') OR hits = 0;
ALTER TABLE auth_rate_limits DROP CONSTRAINT IF EXISTS auth_rate_limits_source_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_scope_check;
ALTER TABLE auth_rate_limits DROP CONSTRAINT auth_rate_limits_hits_check;
ALTER TABLE auth_rate_limits ALTER COLUMN source TYPE cidr USING source::cidr;
ALTER TABLE auth_rate_limits
  ADD CONSTRAINT auth_rate_limits_scope_check CHECK (scope IN ('failure', 'reset_request')),
  ADD CONSTRAINT auth_rate_limits_hits_check CHECK (hits > 0);
