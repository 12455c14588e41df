-- carebase 0005: chat history.
--
-- Two tables rather than one flat `chat_history`:
--   * conversations: one row per thread, owned by a user (FK, ON DELETE CASCADE, so erasing a user
--     erases their chat). Holds the title, metadata, the "default" flag (the seed app kept one
--     history per user: `append` without a conversation id goes there) and last_message_at, so
--     "most recent activity first" is an index scan instead of an aggregate over messages.
--   * chat_messages: append-only, high volume, bigint identity ids. Every key starts with user_id
--     (the column a sharded/distributed deployment would distribute by), and the composite FK
--     (user_id, conversation_id) -> conversations (user_id, id) makes the database itself refuse a
--     message whose user does not own its conversation.
-- Full-text search uses a STORED generated tsvector. The text-search configuration is a per-row
-- regconfig column (`language`, written from the `chat.searchLanguage` option), because the
-- two-argument to_tsvector(regconfig, text) is immutable while to_tsvector(text) depends on the
-- session's default_text_search_config and cannot be used in a generated column.

CREATE TABLE conversations (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL CONSTRAINT conversations_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
  title text CONSTRAINT conversations_title_check CHECK (length(title) <= 500),
  is_default boolean NOT NULL DEFAULT false,
  metadata jsonb,
  last_message_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT conversations_pkey PRIMARY KEY (user_id, id)
);

-- Ownership checks by conversation id alone (getConversation, "whose conversation is this?"
-- before answering ForbiddenError or NotFoundError). Not unique: unique keys carry user_id.
CREATE INDEX conversations_id_idx ON conversations (id);
-- One default conversation per user; append() without a conversation id creates it on demand
-- with INSERT ... ON CONFLICT (user_id) WHERE is_default DO NOTHING (race-free).
CREATE UNIQUE INDEX conversations_default_key ON conversations (user_id) WHERE is_default;
-- listConversations({ userId, cursor }): keyset over (last_message_at DESC, id DESC).
CREATE INDEX conversations_user_activity_idx ON conversations (user_id, last_message_at DESC, id DESC);

CREATE TRIGGER conversations_set_updated_at BEFORE UPDATE ON conversations
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE chat_messages (
  id bigint GENERATED ALWAYS AS IDENTITY,
  user_id uuid NOT NULL,
  conversation_id uuid NOT NULL,
  client_id text CONSTRAINT chat_messages_client_id_check CHECK (length(client_id) BETWEEN 1 AND 200),
  role text NOT NULL CONSTRAINT chat_messages_role_check CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content text NOT NULL,
  metadata jsonb,
  language regconfig NOT NULL DEFAULT 'english',
  search_vector tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector(language, content)) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chat_messages_pkey PRIMARY KEY (user_id, id),
  CONSTRAINT chat_messages_conversation_fkey FOREIGN KEY (user_id, conversation_id)
    REFERENCES conversations (user_id, id) ON DELETE CASCADE
);

-- history / latest / offset paging / export of one conversation: keyset over (created_at, id) in
-- both directions with the row comparison (created_at, id) > ($ts, $id) as an index condition;
-- export of all of a user's conversations (ORDER BY conversation_id, created_at, id);
-- clear({ conversationId }) and the ON DELETE CASCADE from conversations.
CREATE INDEX chat_messages_history_idx ON chat_messages (user_id, conversation_id, created_at, id);
-- append({ id }) idempotent retries: INSERT ... ON CONFLICT (user_id, client_id) WHERE client_id
-- IS NOT NULL DO NOTHING, and the follow-up lookup of the existing message.
CREATE UNIQUE INDEX chat_messages_client_id_key ON chat_messages (user_id, client_id) WHERE client_id IS NOT NULL;
-- search(): search_vector @@ websearch_to_tsquery(...), combined (BitmapAnd) with the user_id
-- prefix of the primary key or the history index for the per-user / per-conversation scope.
CREATE INDEX chat_messages_search_idx ON chat_messages USING gin (search_vector);
-- applyRetention({ olderThanDays }): created_at < cutoff across all users. BRIN: messages arrive
-- in time order, so a tiny block-range index serves the rare retention sweep at almost no write cost.
CREATE INDEX chat_messages_created_at_brin ON chat_messages USING brin (created_at);
-- clear({ userId }) without a conversation and eraseChatForUser: the user_id prefix of the
-- primary key (chat_messages_pkey) serves them; no extra index.

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP TABLE chat_messages;
DROP TABLE conversations;
