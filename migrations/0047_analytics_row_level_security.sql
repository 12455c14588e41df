-- carebase 0047: row-level security policies for analytics rows (optional, pooler-safe).
--
-- Like 0043 (chat and sessions), this migration creates the policies but does NOT enable
-- row-level security: `grantAppRole(owner, { role, rowSecurity: true })` turns it on for
-- analytics_events and analytics_user_keys together with 0043's tables. A deploy that already ran
-- with `rowSecurity: true` reruns grantAppRole once every instance runs a carebase that knows
-- these policies (an older one would COPY into analytics_events, which PostgreSQL refuses under
-- row-level security, and would read analytics without the scope below).
--
-- A role subject to the policies (the app role) sees, in a transaction:
--
--   analytics_events, analytics_user_keys   the rows of the user named by carebase.actor_user_id
--                                           (0043's rls_user_id()); with the analytics scope
--                                           below, every row
--
-- Events without a user (anonymous, user_id NULL) belong to no user: only the analytics scope sees
-- or writes them. Raw SQL without either setting sees no analytics rows and writes none.
--
-- The analytics scope: analytics is carebase's own system path over every user's events (ingest
-- of events for any user, summaries, time series, funnels, cohorts, rollup refresh, retention),
-- and its queries are composed per call (filters, rollup/raw edges, bucket plans), so they are not
-- wrapped in one SECURITY DEFINER function each. Instead the analytics repository of an instance
-- with `rls: true` sets, transaction-local like the acting user,
--
--   SELECT set_config('carebase.system_scope', 'analytics', true)
--
-- in every transaction it opens (and, inside a host's transaction, only around its own statements,
-- restoring the previous value). Like carebase.actor_user_id the setting is not a secret: it keeps
-- raw SQL that forgets it, or runs in a user's transaction, from reading other users' events; it
-- does not stop SQL run deliberately as the app role (docs/security.md, "Row-level security").
--
-- `track` (one event, the hot path) goes through analytics_track() below, the owner's SECURITY
-- DEFINER insert, instead of a transaction with the scope.
--
-- Not protected (aggregates, no user ids): the rollup tables (counts per hour and event, and
-- distinct-user bitmaps over the dense keys of analytics_user_keys, which is protected), the
-- rollup state and dirty hours. Partitions of analytics_events: the policies of the parent apply
-- to every query through it, partitions created later included; the app role holds no privilege
-- on a partition itself (grantAppRole grants on the parent only), so it cannot bypass them.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

-- The system scope of the current transaction ('analytics'), or NULL when unset or empty. Used as
-- `(SELECT rls_system_scope())`: an init plan, evaluated once per query.
CREATE FUNCTION rls_system_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(pg_catalog.current_setting('carebase.system_scope', true), '') $$;

CREATE POLICY analytics_events_actor ON analytics_events
  USING (user_id = (SELECT rls_user_id()) OR (SELECT rls_system_scope()) = 'analytics')
  WITH CHECK (user_id = (SELECT rls_user_id()) OR (SELECT rls_system_scope()) = 'analytics');

CREATE POLICY analytics_user_keys_actor ON analytics_user_keys
  USING (user_id = (SELECT rls_user_id()) OR (SELECT rls_system_scope()) = 'analytics')
  WITH CHECK (user_id = (SELECT rls_user_id()) OR (SELECT rls_system_scope()) = 'analytics');

-- track() under row-level security: one event inserted as the owner, in one statement (no
-- transaction to open for the scope: begin, insert, commit would be three round trips on the hot
-- path). It writes exactly what the scope may write, any user's event or an anonymous one, and
-- returns nothing. PL/pgSQL: the INSERT's plan is cached per connection.
CREATE FUNCTION analytics_track(
  p_occurred_at timestamptz,
  p_user_id uuid,
  p_session_id text,
  p_event_type text,
  p_event_name text,
  p_data jsonb,
  p_measures jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
  INSERT INTO analytics_events (occurred_at, user_id, session_id, event_type, event_name, data, measures)
  VALUES (p_occurred_at, p_user_id, p_session_id, p_event_type, p_event_name, p_data, p_measures);
END
$$;

REVOKE EXECUTE ON FUNCTION analytics_track(timestamptz, uuid, text, text, text, jsonb, jsonb) FROM PUBLIC;

-- carebase:down
-- carebase:lint-ignore-file multiple-lock-statements: the down turns row-level security off table by table; each ALTER/DROP POLICY is a catalog change that waits only for the table's running statements
ALTER TABLE analytics_events DISABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_user_keys DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS analytics_events_actor ON analytics_events;
DROP POLICY IF EXISTS analytics_user_keys_actor ON analytics_user_keys;
DROP FUNCTION IF EXISTS analytics_track(timestamptz, uuid, text, text, text, jsonb, jsonb);
DROP FUNCTION IF EXISTS rls_system_scope();
