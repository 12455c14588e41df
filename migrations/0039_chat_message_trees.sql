-- carebase:no-transaction
-- carebase 0039: message trees (edit / regenerate make siblings), the active leaf of a conversation
-- and pinned system messages.
--
-- A message's parent is `parent_id` when set. When it is NULL the parent is IMPLICIT: the previous
-- message of the conversation in (created_at, id) order, the order `history` shows (none for the
-- oldest message), unless `is_root` marks an explicit root (the edit of a conversation's first
-- message). Every message written before 0039 is such a message, so existing linear conversations
-- are paths as they stand: no backfill, no rewrite. Plain appends keep writing implicit parents
-- (concurrent appends to one conversation stay one line, as `history` shows them); explicit
-- parents are written only by branching writes (edit, regenerate, `parentId`, an append under an
-- active leaf that is not the newest message).
-- conversations.active_leaf_id: the leaf a UI shows. NULL means the conversation's newest message;
-- every write makes its new message (the newest) the active leaf by setting it back to NULL, so
-- plain appends never rewrite the conversation row for it.
-- chat_messages.pinned: system messages that `chat.context` always includes.
--
-- Cycles cannot be built: a parent must exist (in the same conversation) when its child is
-- inserted, so its identity id is smaller, and implicit parents are strictly earlier in
-- (created_at, id); nothing updates parent_id.
--
-- Online: the ADD COLUMNs are catalog-only (no default, or a constant one: no rewrite, a brief
-- ACCESS EXCLUSIVE lock). The two indexes are partial (only explicit-parent, root and pinned
-- messages: plain appends add no entries) and built CONCURRENTLY, so writes go on while they
-- build. Run outside a transaction; every statement is idempotent, so a rerun after a failure
-- finishes the job (an invalid index left by a failed CONCURRENTLY build must be dropped first).

-- carebase:lint-ignore adding-field-with-volatile-default: constant defaults (false) are catalog-only since PostgreSQL 11
ALTER TABLE chat_messages
  ADD COLUMN IF NOT EXISTS parent_id bigint,
  ADD COLUMN IF NOT EXISTS is_root boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS pinned boolean NOT NULL DEFAULT false;

ALTER TABLE conversations ADD COLUMN IF NOT EXISTS active_leaf_id bigint;

-- siblings(): the explicit children of a parent, and a conversation's explicit roots
-- (parent_id IS NULL AND is_root), in creation (id) order.
CREATE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_children_idx ON chat_messages (user_id, conversation_id, parent_id, id)
  WHERE parent_id IS NOT NULL OR is_root;

-- context(): a conversation's pinned system messages.
CREATE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_pinned_idx ON chat_messages (user_id, conversation_id, created_at, id)
  WHERE pinned;

-- carebase:down
DROP INDEX IF EXISTS chat_messages_pinned_idx;
DROP INDEX IF EXISTS chat_messages_children_idx;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the column its up added
ALTER TABLE conversations DROP COLUMN IF EXISTS active_leaf_id;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns its up added
ALTER TABLE chat_messages
  DROP COLUMN IF EXISTS parent_id,
  DROP COLUMN IF EXISTS is_root,
  DROP COLUMN IF EXISTS pinned;
