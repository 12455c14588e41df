-- carebase 0046: chat history pages with a plan that survives a transaction pooler.
--
-- Like session_validate (0045): behind a transaction pooler carebase names no prepared statement,
-- so each history page was parsed and planned per call. This PL/pgSQL function keeps the plans of
-- its four page statements (oldest or newest first; a given conversation or the caller's default
-- one) on the server backend, which the pooler keeps open. Direct connections keep their named
-- prepared statements (src/repositories/chat/history.ts); both forms return the same rows
-- (test/chat/history-function.test.ts holds them equal, column list included).
--
-- The statements are those of history.ts: the conversation under its owner's key when the caller
-- takes part in it (no rows otherwise), a keyset bound, limit + 1 rows, and the exact sort key of
-- row `limit` only. `plan_cache_mode = force_generic_plan`: with the page size a parameter, the
-- planner would cost the generic plan as a read of a tenth of the conversation and plan every
-- call again; the generic plan is the same backward (or forward) scan of chat_messages_history_idx.
-- SECURITY INVOKER: the caller's own privileges (and row-level security) apply.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE FUNCTION chat_history_page(
  p_user_id uuid,
  p_conversation_id uuid,
  p_newest_first boolean,
  p_after_at timestamptz,
  p_after_id bigint,
  p_limit integer
)
RETURNS TABLE (
  id bigint,
  user_id uuid,
  conversation_id uuid,
  client_id text,
  role text,
  content text,
  metadata jsonb,
  created_at timestamptz,
  author_user_id uuid,
  parent_id bigint,
  pinned boolean,
  parts jsonb,
  sort_key text
)
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  v_owner uuid;
  v_conversation uuid;
BEGIN
  IF p_conversation_id IS NULL THEN
    v_owner := p_user_id;
    SELECT c.id INTO v_conversation FROM conversations AS c WHERE c.user_id = p_user_id AND c.is_default;
  ELSE
    v_conversation := p_conversation_id;
    SELECT cp.owner_id INTO v_owner FROM conversation_participants AS cp
     WHERE cp.conversation_id = p_conversation_id AND cp.user_id = p_user_id;
  END IF;
  IF v_owner IS NULL OR v_conversation IS NULL THEN
    RETURN;
  END IF;
  IF p_newest_first THEN
    RETURN QUERY
    SELECT page.id, page.user_id, page.conversation_id, page.client_id, page.role, page.content,
           page.metadata, page.created_at, page.author_user_id, page.parent_id, page.pinned, page.parts,
           CASE WHEN row_number() OVER (ORDER BY page.created_at DESC, page.id DESC) = p_limit
             THEN to_char(page.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
      FROM (
        SELECT m.id, m.user_id, m.conversation_id, m.client_id, m.role, m.content, m.metadata,
               m.created_at, m.author_user_id, m.parent_id, m.pinned, m.parts
          FROM chat_messages AS m
         WHERE m.user_id = v_owner AND m.conversation_id = v_conversation
           AND (m.created_at, m.id) < (p_after_at, p_after_id)
         ORDER BY m.created_at DESC, m.id DESC
         LIMIT p_limit + 1
      ) AS page
     ORDER BY page.created_at DESC, page.id DESC;
  ELSE
    RETURN QUERY
    SELECT page.id, page.user_id, page.conversation_id, page.client_id, page.role, page.content,
           page.metadata, page.created_at, page.author_user_id, page.parent_id, page.pinned, page.parts,
           CASE WHEN row_number() OVER (ORDER BY page.created_at, page.id) = p_limit
             THEN to_char(page.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
      FROM (
        SELECT m.id, m.user_id, m.conversation_id, m.client_id, m.role, m.content, m.metadata,
               m.created_at, m.author_user_id, m.parent_id, m.pinned, m.parts
          FROM chat_messages AS m
         WHERE m.user_id = v_owner AND m.conversation_id = v_conversation
           AND (m.created_at, m.id) > (p_after_at, p_after_id)
         ORDER BY m.created_at, m.id
         LIMIT p_limit + 1
      ) AS page
     ORDER BY page.created_at, page.id;
  END IF;
END
$$;

-- carebase:down
DROP FUNCTION IF EXISTS chat_history_page(uuid, uuid, boolean, timestamptz, bigint, integer);
