-- carebase:no-transaction
-- carebase 0017: cb.imports.conversations() idempotency: ON CONFLICT (user_id, import_source,
-- external_id) WHERE external_id IS NOT NULL DO NOTHING (user_id first, like every unique key of
-- the chat tables). Built CONCURRENTLY: writes go on.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS conversations_external_id_key ON conversations (user_id, import_source, external_id) WHERE external_id IS NOT NULL;

-- carebase:down
DROP INDEX IF EXISTS conversations_external_id_key;
