-- carebase 0042: chat.search over encrypted messages (docs/encryption.md, "Search").
--
-- search_tokens is the blind keyword index of a sealed message: one bigint per distinct word of
-- its content (the first 8 bytes of HMAC-SHA256 of the normalized word, keyed by the owner's
-- per-user index key, which is derived from the data key the row is sealed with). The database
-- never holds a readable word: equal words of one user's messages give equal tokens, the same
-- word of two users does not. NULL for rows stored in clear (their words are in search_vector).
-- Nullable without a default: adding it rewrites nothing. Its GIN index is built CONCURRENTLY by
-- 0044.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

ALTER TABLE chat_messages ADD COLUMN search_tokens bigint[];

-- carebase:down
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the column its up added
ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_tokens;
