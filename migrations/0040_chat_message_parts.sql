-- carebase:no-transaction
-- carebase 0040: typed message parts (text, reasoning, tool calls and results, files, sources,
-- data) and their full-text search.
--
-- parts holds `{ "v": 1, "parts": [...] }` (the version lets the format evolve; NULL for a message
-- without parts, and in a sealed row, whose parts travel in the metadata envelope). parts_search
-- is the tsvector of the searchable text of the parts that the content does not already hold
-- (reasoning, text parts that differ from the content, tool JSON when chat.searchToolParts is
-- on), computed by the INSERT from the same text-search configuration as the content's. It is a
-- plain column, not a generated one: adding a STORED generated column would rewrite
-- chat_messages, a nullable column is added without touching a row. Search matches
-- `search_vector @@ q OR parts_search @@ q`, a BitmapOr of the two GIN indexes. The index is
-- partial (only messages with searchable parts) and built CONCURRENTLY: writes go on.
--
-- Each statement commits on its own (no-transaction, for CONCURRENTLY) and is idempotent: a run
-- stopped halfway is completed by the next one.

ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS parts jsonb;
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS parts_search tsvector;
CREATE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_parts_search_idx ON chat_messages USING gin (parts_search) WHERE parts_search IS NOT NULL;

-- carebase:down
DROP INDEX CONCURRENTLY IF EXISTS chat_messages_parts_search_idx;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns its up added
ALTER TABLE chat_messages DROP COLUMN IF EXISTS parts_search;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns its up added
ALTER TABLE chat_messages DROP COLUMN IF EXISTS parts;
