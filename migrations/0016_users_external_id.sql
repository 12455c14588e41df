-- carebase:no-transaction
-- carebase 0016: cb.imports.users() idempotency: ON CONFLICT (import_source, external_id) WHERE
-- external_id IS NOT NULL DO NOTHING; also serves the lookup of imported users by their original id
-- (conversations and audit entries name their user that way). Built CONCURRENTLY: writes go on.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_external_id_key ON users (import_source, external_id) WHERE external_id IS NOT NULL;

-- carebase:down
DROP INDEX IF EXISTS users_external_id_key;
