-- carebase 0037: messages of any allowed size store and search; the full-text index covers the
-- first 131,072 characters of each message.
--
-- PostgreSQL's tsvector holds at most 1 MiB of distinct lexemes, so to_tsvector(language, content)
-- fails (SQLSTATE 54000) for a message of a few hundred thousand distinct words, and until now
-- such a message was refused. The generated column now indexes left(content, 131072): at most
-- 512 KiB of UTF-8 (4 bytes a character), whose lexemes always fit (lower-casing grows a few
-- characters by half at most), whatever the content. The message itself is stored whole; only
-- words after its first 131,072 characters are not found by chat.search (see docs/chat.md). Search
-- snippets are cut from the same prefix.
--
-- PostgreSQL 14-16 cannot change a generated column's expression in place: the column is dropped
-- and added again, which rewrites chat_messages and rebuilds its full-text index under an
-- ACCESS EXCLUSIVE lock (minutes for tens of millions of messages: plan a maintenance window).

-- carebase:lint-ignore-file ban-drop-column, adding-field-with-volatile-default, require-concurrent-index-creation: search_vector is derived data, recomputed by the rewrite; no code reads it between the drop and the add (one transaction); the index is built on the rewritten table inside the same lock, before any write can reach it
ALTER TABLE chat_messages DROP COLUMN search_vector;
ALTER TABLE chat_messages
  ADD COLUMN search_vector tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector(language, left(content, 131072))) STORED;
-- search(): search_vector @@ websearch_to_tsquery(...), as created by 0005.
CREATE INDEX chat_messages_search_idx ON chat_messages USING gin (search_vector);

-- carebase:down
-- Indexing whole messages again fails (SQLSTATE 54000, nothing changed) when a message stored
-- since does not fit a tsvector: delete or shorten it first.
DROP INDEX IF EXISTS chat_messages_search_idx;
ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector;
ALTER TABLE chat_messages
  ADD COLUMN search_vector tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector(language, content)) STORED;
CREATE INDEX chat_messages_search_idx ON chat_messages USING gin (search_vector);
