-- carebase 0029: the planner learns that a conversation belongs to one user.
--
-- Every chat statement filters on `user_id = $1 AND conversation_id = $2`. Without extended
-- statistics PostgreSQL multiplies the two selectivities as if they were independent, so the
-- generic plan of a prepared history page expects a conversation to hold almost no rows and costs
-- its LIMIT as a read of all of them. On a deep conversation that cost sits at the edge of the
-- custom plans' average, and PostgreSQL kept replanning `chat.history` on every call in some
-- ANALYZE samples and not in others. A functional-dependency statistic (conversation_id
-- determines user_id) makes the estimate the conversation's own, and the generic plan the cheaper.
-- ANALYZE (autovacuum's or the owner's) fills it; nothing else changes.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE STATISTICS chat_messages_conversation_user (dependencies) ON user_id, conversation_id FROM chat_messages;

-- carebase:down
DROP STATISTICS IF EXISTS chat_messages_conversation_user;
