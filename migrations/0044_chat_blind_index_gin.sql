-- carebase:no-transaction
-- carebase 0044: the GIN index of chat_messages.search_tokens (0042). chat.search with encryption
-- on asks `search_tokens @> <query tokens>`, ANDed with the user's key range. Partial: messages
-- stored in clear (search_tokens NULL) add nothing to it. Built CONCURRENTLY: writes go on.
CREATE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_search_tokens_idx ON chat_messages USING gin (search_tokens) WHERE search_tokens IS NOT NULL;

-- carebase:down
DROP INDEX IF EXISTS chat_messages_search_tokens_idx;
