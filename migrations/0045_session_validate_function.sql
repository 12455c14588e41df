-- carebase 0045: session validation with a plan that survives a transaction pooler.
--
-- Behind a transaction pooler (`pooler: 'transaction'`) carebase sends no named prepared
-- statements, so `sessions.validate` (a join of sessions and users) was parsed and planned on
-- every call: through PgBouncer it ran at 0.37x of the same call on a direct connection. A
-- PL/pgSQL function keeps the plan of the statement inside it for the life of the server backend,
-- and PgBouncer's server connections are long-lived, so `select * from session_validate(...)`
-- costs a trivial parse while the lookup itself runs on a cached plan. Direct connections keep
-- the named prepared statement (src/repositories/sessions/session-statements.ts); both return the
-- same columns, and test/sessions/validate-function.test.ts holds them equal.
--
-- SECURITY INVOKER: the caller's own SELECT privileges (and row-level security) apply.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE FUNCTION session_validate(p_token_hash bytea, p_now timestamptz, p_idle_cutoff timestamptz)
RETURNS TABLE (
  id uuid,
  user_id uuid,
  ip inet,
  user_agent text,
  created_at timestamptz,
  last_seen_at timestamptz,
  expires_at timestamptz,
  username text,
  email text,
  display_name text,
  role text,
  status text,
  failed_login_count integer,
  locked_until timestamptz,
  last_login_at timestamptz,
  password_changed_at timestamptz,
  user_created_at timestamptz,
  user_updated_at timestamptz,
  approved_at timestamptz,
  rejected_at timestamptz,
  email_verified_at timestamptz,
  authenticated_at timestamptz,
  mfa_at timestamptz
)
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT s.id, s.user_id, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at,
         u.username, u.email, u.display_name, u.role, u.status, u.failed_login_count,
         u.locked_until, u.last_login_at, u.password_changed_at, u.created_at, u.updated_at,
         u.approved_at, u.rejected_at, u.email_verified_at, s.authenticated_at, s.mfa_at
    FROM sessions AS s
    JOIN users AS u ON u.id = s.user_id
   WHERE s.token_hash = p_token_hash
     AND s.revoked_at IS NULL
     AND s.expires_at > p_now
     AND s.last_seen_at > p_idle_cutoff
     AND u.status = 'active';
END
$$;

-- carebase:down
DROP FUNCTION IF EXISTS session_validate(bytea, timestamptz, timestamptz);
