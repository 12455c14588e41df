-- carebase 0031: who wrote a message in a shared conversation.
--
-- chat_messages.user_id stays the conversation OWNER's id (the key every history statement and
-- index starts with); author_user_id is the participant who appended the message (for assistant,
-- system and tool messages: the participant on whose behalf it was appended). NULL means the owner:
-- every message written before 0031 (one owner, one writer) and imported messages. No foreign key:
-- an author is a recorded attribution, like an audit entry's user, and stays when that user's
-- account is erased (the message belongs to the owner's record); no backfill, no rewrite.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

ALTER TABLE chat_messages ADD COLUMN author_user_id uuid;

-- carebase:down
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the column its up added
ALTER TABLE chat_messages DROP COLUMN IF EXISTS author_user_id;
