-- carebase 0043: row-level security policies for chat and sessions (optional, pooler-safe).
--
-- This migration creates the policies and the functions they use, but does NOT enable row-level
-- security: tables keep today's behaviour (and plans) until the owner turns it on with
-- `grantAppRole(owner, { role, rowSecurity: true })` (ALTER TABLE ... ENABLE ROW LEVEL SECURITY on
-- the tables below; `rowSecurity: false` turns it off again). Instances then run with
-- `createCarebase({ rls: true })`, which sets the acting user in every transaction it opens for a
-- scoped call:
--
--   SELECT set_config('carebase.actor_user_id', '<uuid>', true)   -- transaction-local (SET LOCAL)
--
-- so nothing outlives the transaction and a transaction pooler may hand the connection to anyone
-- next. Without the setting (raw SQL outside carebase's transactions) the policies show no rows
-- and refuse every write. With it, a role subject to the policies sees:
--
--   conversations, chat_messages, chat_usage   rows of conversations the user owns or participates in
--   conversation_participants                  its own rows, the rows of conversations it owns or
--                                              participates in
--   sessions                                   the user's own sessions
--
-- Policies apply to every role except the tables' owner (no FORCE ROW LEVEL SECURITY: migrations,
-- backups and the SECURITY DEFINER functions run as the owner and must see every row) and roles
-- with BYPASSRLS (grantAppRole refuses those as app roles). carebase's system paths that are not
-- one user's call run through the owner's SECURITY DEFINER functions below, executable only by the
-- owner and the app role:
--
--   session_lookup(token_hash)            the session a token names (sessions.validate/revoke: the
--                                         token is the credential)
--   sessions_purge(cutoff, idle_cutoff)   sessions.purgeExpired across users
--   chat_apply_retention(cutoff, now)     chat.applyRetention across users
--
-- The setting is not a secret: a role that can run arbitrary SQL can set it to any user id. The
-- policies guard against raw SQL that forgets it or runs in another user's transaction, not
-- against an attacker who runs SQL as the app role (docs/security.md, "Row-level security").

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

-- The acting user of the current transaction, or NULL when unset or empty. No SET clause and
-- schema-qualified names, so the planner inlines it into the policies (evaluated once per query).
CREATE FUNCTION rls_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(pg_catalog.current_setting('carebase.actor_user_id', true), '')::pg_catalog.uuid $$;

-- The conversations the acting user participates in (as owner, member or viewer). SECURITY
-- DEFINER: read as the owner, so the policy of conversation_participants does not recurse into
-- itself. Used as `conversation_id IN (SELECT rls_conversations())`: one hashed lookup per query.
-- PL/pgSQL: its plan is cached per connection (an SQL function's would be planned at every call).
CREATE FUNCTION rls_conversations() RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
  RETURN QUERY SELECT p.conversation_id FROM conversation_participants p WHERE p.user_id = rls_user_id();
END
$$;

CREATE POLICY conversations_actor ON conversations
  USING (user_id = rls_user_id() OR id IN (SELECT rls_conversations()))
  WITH CHECK (user_id = rls_user_id() OR id IN (SELECT rls_conversations()));

CREATE POLICY chat_messages_actor ON chat_messages
  USING (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()));

CREATE POLICY chat_usage_actor ON chat_usage
  USING (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()));

CREATE POLICY conversation_participants_actor ON conversation_participants
  USING (user_id = rls_user_id() OR owner_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK (owner_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()));

CREATE POLICY sessions_actor ON sessions
  USING (user_id = rls_user_id())
  WITH CHECK (user_id = rls_user_id());

-- The unrevoked session whose token hashes to p_token_hash (at most one row: token_hash is
-- unique). The hash is the credential, so whoever holds it may read its session.
CREATE FUNCTION session_lookup(p_token_hash bytea) RETURNS SETOF sessions
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 1
SET search_path FROM CURRENT
AS $$
BEGIN
  RETURN QUERY SELECT s.* FROM sessions s WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL;
END
$$;

-- sessions.purgeExpired across every user: deletes sessions that expired or were revoked before
-- p_cutoff, or were last seen before p_idle_cutoff. Returns the number deleted.
CREATE FUNCTION sessions_purge(p_cutoff timestamptz, p_idle_cutoff timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
  WITH deleted AS (
    DELETE FROM sessions s
    WHERE s.expires_at < p_cutoff OR s.revoked_at < p_cutoff OR s.last_seen_at < p_idle_cutoff
    RETURNING 1
  )
  SELECT count(*) FROM deleted
$$;

-- chat.applyRetention across every user (the statements of the repository's own path): deletes
-- messages older than p_cutoff in conversations without an override, then those past each
-- overriding conversation's retention_days, holding conversations with retain_until > p_now.
CREATE FUNCTION chat_apply_retention(p_cutoff timestamptz, p_now timestamptz)
RETURNS TABLE (by_default bigint, by_override bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
  DELETE FROM chat_messages m
  WHERE m.created_at < p_cutoff
    AND NOT EXISTS (
      SELECT 1 FROM conversations c
      WHERE c.user_id = m.user_id AND c.id = m.conversation_id
        AND (c.retention_days IS NOT NULL OR c.retain_until > p_now)
    );
  GET DIAGNOSTICS by_default = ROW_COUNT;
  DELETE FROM chat_messages m
  USING conversations c
  WHERE c.retention_days IS NOT NULL AND (c.retain_until IS NULL OR c.retain_until <= p_now)
    AND m.user_id = c.user_id AND m.conversation_id = c.id
    AND m.created_at < p_now - c.retention_days * interval '1 day';
  GET DIAGNOSTICS by_override = ROW_COUNT;
  RETURN NEXT;
END
$$;

REVOKE EXECUTE ON FUNCTION rls_conversations() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION session_lookup(bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sessions_purge(timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION chat_apply_retention(timestamptz, timestamptz) FROM PUBLIC;

-- carebase:down
-- carebase:lint-ignore-file multiple-lock-statements: the down turns row-level security off table by table; each ALTER/DROP POLICY is a catalog change that waits only for the table's running statements
ALTER TABLE conversations DISABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages DISABLE ROW LEVEL SECURITY;
ALTER TABLE chat_usage DISABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_participants DISABLE ROW LEVEL SECURITY;
ALTER TABLE sessions DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS conversations_actor ON conversations;
DROP POLICY IF EXISTS chat_messages_actor ON chat_messages;
DROP POLICY IF EXISTS chat_usage_actor ON chat_usage;
DROP POLICY IF EXISTS conversation_participants_actor ON conversation_participants;
DROP POLICY IF EXISTS sessions_actor ON sessions;
DROP FUNCTION IF EXISTS chat_apply_retention(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS sessions_purge(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS session_lookup(bytea);
DROP FUNCTION IF EXISTS rls_conversations();
DROP FUNCTION IF EXISTS rls_user_id();
