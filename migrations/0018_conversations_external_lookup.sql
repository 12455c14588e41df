-- carebase:no-transaction
-- carebase 0018: cb.imports.messages() names a message's conversation by its original id only
-- (WHERE import_source = $1 AND external_id = ANY(...)): this index serves that lookup, which the
-- unique key of 0017 (user_id first) cannot. Built CONCURRENTLY: writes go on.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_external_lookup_idx ON conversations (import_source, external_id) WHERE external_id IS NOT NULL;

-- carebase:down
DROP INDEX IF EXISTS conversations_external_lookup_idx;
