-- carebase:no-transaction
-- carebase 0019: cb.imports.messages() idempotency: ON CONFLICT (user_id, import_source,
-- external_id) WHERE external_id IS NOT NULL DO NOTHING. Partial: messages carebase wrote itself
-- (external_id NULL) add nothing to it. Built CONCURRENTLY: writes go on.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_external_id_key ON chat_messages (user_id, import_source, external_id) WHERE external_id IS NOT NULL;

-- carebase:down
DROP INDEX IF EXISTS chat_messages_external_id_key;
