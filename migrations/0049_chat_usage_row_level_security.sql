-- carebase 0049: the chat usage rollups under row-level security (a system scope for the ledger).
--
-- With row-level security on (0043), `chat_usage` shows a role subject to the policies only the
-- usage of conversations the acting user (carebase.actor_user_id) owns or takes part in. The usage
-- rollup refresh (`cb.chat.refreshUsageRollups()` and its background run) reads the whole ledger:
-- without an acting user it saw an empty ledger, marked the days rolled up and left `chat.usage()`
-- answering `[]` for days with usage; inside a user's scope it rolled up that user's usage only.
--
-- The refresh is several statements composed per step (dirty days, chunks of new days, deletes and
-- inserts over unnest'ed ranges) in repeatable-read transactions under an advisory lock, and the
-- report (`chat.usage()` on a scope without a user: the admin report) composes its rollup and
-- ledger parts per call. Like analytics (0047) they therefore run in transactions carrying
--
--   SELECT set_config('carebase.system_scope', 'chat_usage', true)   -- transaction-local
--
-- which the replaced chat_usage_actor policy below accepts for every ledger row, rather than one
-- SECURITY DEFINER function per statement shape (0043's sessions_purge, chat_apply_retention:
-- single fixed statements). The scope is not a secret, exactly like carebase.actor_user_id: it
-- keeps raw SQL that forgets it, or runs in a user's transaction, from reading other users' usage;
-- it does not stop SQL run deliberately as the app role (docs/security.md, "Row-level security").
--
-- chat_usage_daily (the per-day, per-owner, conversation and author rollup: user ids and
-- conversation ids, the same facts as the ledger summed per day) gets the same policy, so raw SQL
-- sees rolled-up usage exactly as it sees the ledger: the acting user's conversations, or every
-- row in the chat_usage scope. `grantAppRole({ rowSecurity: true })` enables it (ROW_SECURITY_TABLES).
-- Not protected: chat_usage_daily_totals (per day, provider, model and currency; no user or
-- conversation), the rollup state and the dirty days.
--
-- A scope with a user keeps reading by participation: `chat.usage()` there sums only the usage of
-- conversations the acting user takes part in (ledger and per-conversation rollup alike).

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

ALTER POLICY chat_usage_actor ON chat_usage
  USING ((SELECT rls_system_scope()) = 'chat_usage' OR user_id = rls_user_id()
    OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK ((SELECT rls_system_scope()) = 'chat_usage' OR user_id = rls_user_id()
    OR conversation_id IN (SELECT rls_conversations()));

CREATE POLICY chat_usage_daily_actor ON chat_usage_daily
  USING ((SELECT rls_system_scope()) = 'chat_usage' OR user_id = rls_user_id()
    OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK ((SELECT rls_system_scope()) = 'chat_usage' OR user_id = rls_user_id()
    OR conversation_id IN (SELECT rls_conversations()));

-- carebase:down
-- carebase:lint-ignore-file multiple-lock-statements: the down turns row-level security off on chat_usage_daily and restores 0043's ledger policy; each ALTER/DROP POLICY is a catalog change that waits only for the table's running statements
ALTER TABLE chat_usage_daily DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS chat_usage_daily_actor ON chat_usage_daily;
ALTER POLICY chat_usage_actor ON chat_usage
  USING (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()))
  WITH CHECK (user_id = rls_user_id() OR conversation_id IN (SELECT rls_conversations()));
