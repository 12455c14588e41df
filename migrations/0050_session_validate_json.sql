-- carebase 0050: session validation behind a transaction pooler, as one JSON value.
--
-- Behind a transaction pooler every statement is parsed and planned per call (no named prepared
-- statements). `select * from session_validate(...)` (migration 0045) is a function scan of 23
-- columns: the server plans the scan, expands the column list and materializes the function's
-- result for every validation. `select session_validate_json(...)` is a plain function call in a
-- target list: the lookup inside still runs on the plan PL/pgSQL keeps for the server backend,
-- and its row comes back as one JSON array, in the column order of `session_validate`.
-- Measured with pgbench on loopback (extended protocol, unnamed): 0.24-0.28 ms a call vs
-- 0.31-0.40 ms for `session_validate`; 14,050 vs 10,885 calls a second at 8 clients.
--
-- Timestamps are their text form (`::text`, the session's DateStyle and TimeZone, as a column of
-- type timestamptz is sent), so the client parses them with the same parser as a column, infinity
-- included. `session_validate` stays for instances of earlier carebase versions.
--
-- SECURITY INVOKER: the caller's own SELECT privileges (and row-level security) apply.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE FUNCTION session_validate_json(p_token_hash bytea, p_now timestamptz, p_idle_cutoff timestamptz)
RETURNS json
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
  found json;
BEGIN
  SELECT json_build_array(s.id, s.user_id, s.ip, s.user_agent, s.created_at::text,
         s.last_seen_at::text, s.expires_at::text, u.username, u.email, u.display_name, u.role,
         u.status, u.failed_login_count, u.locked_until::text, u.last_login_at::text,
         u.password_changed_at::text, u.created_at::text, u.updated_at::text,
         u.approved_at::text, u.rejected_at::text, u.email_verified_at::text,
         s.authenticated_at::text, s.mfa_at::text)
    INTO found
    FROM sessions AS s
    JOIN users AS u ON u.id = s.user_id
   WHERE s.token_hash = p_token_hash
     AND s.revoked_at IS NULL
     AND s.expires_at > p_now
     AND s.last_seen_at > p_idle_cutoff
     AND u.status = 'active';
  RETURN found;
END
$$;

-- carebase:down
DROP FUNCTION IF EXISTS session_validate_json(bytea, timestamptz, timestamptz);
