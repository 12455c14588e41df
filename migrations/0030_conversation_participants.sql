-- carebase 0030: shared conversations and conversation state.
--
-- conversation_participants: who takes part in a conversation and with what role: `owner` (the
-- conversation's user_id: exactly one, never removed), `member` (reads and writes) or `viewer`
-- (reads). Every chat read and write checks this table (one primary-key probe) instead of
-- comparing the caller with conversations.user_id. Messages stay keyed by the OWNER's user_id
-- (the column a distributed deployment would distribute by), so a member's message lands in the
-- owner's key range and every history statement keeps its index condition; owner_id here is that
-- key, and (owner_id, conversation_id) references conversations (cascade on delete).
-- An AFTER INSERT trigger on conversations adds the owner row for every conversation however it is
-- created (createConversation, the default conversation an append creates, imports), and the
-- backfill below adds it for every existing conversation: existing single-owner data migrates in
-- place.
--
-- Conversation state on conversations: a host-defined `status` (a short lower-case word; 'open'
-- by default), `version` for optimistic concurrency (bumped by every update, never by appends),
-- `archived_at`, and a per-conversation retention override (`retention_days` replaces the global
-- `olderThanDays` of applyRetention; `retain_until` holds every message until that time). The new
-- columns have constant defaults or none: no rewrite.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

-- carebase:lint-ignore multiple-lock-statements: catalog-only ADD COLUMNs (constant defaults, no rewrite); the CHECKs read each row once under the same lock, taken in the foreign keys' order users -> conversations
ALTER TABLE conversations
  ADD COLUMN status text NOT NULL DEFAULT 'open'
    CONSTRAINT conversations_status_check CHECK (status ~ '^[a-z][a-z0-9_-]{0,31}$'),
  ADD COLUMN version integer NOT NULL DEFAULT 1,
  ADD COLUMN archived_at timestamptz,
  ADD COLUMN retain_until timestamptz,
  ADD COLUMN retention_days integer
    CONSTRAINT conversations_retention_days_check CHECK (retention_days BETWEEN 1 AND 36500);

-- carebase:lint-ignore multiple-lock-statements: a new table; its foreign keys lock users and conversations in the order the chat writes take them
CREATE TABLE conversation_participants (
  conversation_id uuid NOT NULL,
  user_id uuid NOT NULL CONSTRAINT conversation_participants_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
  owner_id uuid NOT NULL,
  role text NOT NULL CONSTRAINT conversation_participants_role_check CHECK (role IN ('owner', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT conversation_participants_pkey PRIMARY KEY (conversation_id, user_id),
  CONSTRAINT conversation_participants_conversation_fkey FOREIGN KEY (owner_id, conversation_id)
    REFERENCES conversations (user_id, id) ON DELETE CASCADE,
  -- The owner row is the conversation's user; nobody else is an owner.
  CONSTRAINT conversation_participants_owner_check CHECK ((role = 'owner') = (user_id = owner_id))
);

-- listConversations / search / export of every conversation a user takes part in.
CREATE INDEX conversation_participants_user_idx ON conversation_participants (user_id, conversation_id);

CREATE TRIGGER conversation_participants_set_updated_at BEFORE UPDATE ON conversation_participants
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION conversations_add_owner() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  INSERT INTO conversation_participants (conversation_id, user_id, owner_id, role, created_at, updated_at)
  SELECT id, user_id, user_id, 'owner', created_at, created_at FROM added;
  RETURN NULL;
END
$$;

-- One statement-level trigger: a bulk import of conversations adds its owner rows in one insert.
CREATE TRIGGER conversations_add_owner AFTER INSERT ON conversations
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION conversations_add_owner();

INSERT INTO conversation_participants (conversation_id, user_id, owner_id, role, created_at, updated_at)
SELECT id, user_id, user_id, 'owner', created_at, created_at FROM conversations;

-- carebase:down
-- carebase:lint-ignore-file multiple-lock-statements: the down drops what the up added, catalog-only (DROP COLUMN marks the columns dropped; no rewrite)
DROP TRIGGER IF EXISTS conversations_add_owner ON conversations;
DROP FUNCTION IF EXISTS conversations_add_owner();
-- carebase:lint-ignore ban-drop-table: the down of this migration removes the table its up added
DROP TABLE IF EXISTS conversation_participants;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns its up added
ALTER TABLE conversations
  DROP COLUMN IF EXISTS status,
  DROP COLUMN IF EXISTS version,
  DROP COLUMN IF EXISTS archived_at,
  DROP COLUMN IF EXISTS retain_until,
  DROP COLUMN IF EXISTS retention_days;
