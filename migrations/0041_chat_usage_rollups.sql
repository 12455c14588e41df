-- carebase 0041: daily rollups of the chat usage ledger, so cb.chat.usage() stays fast at scale.
--
-- Exact like the analytics rollups (0006/0007), by UTC day instead of hour:
--  * chat_usage_daily: per UTC day and (owner, conversation, author, provider, model, currency):
--    calls, calls per status, exact token sums and the exact cost sum. Keyed by the owner's user_id
--    like the ledger (distributable the same way); read by usage({ userId | conversationId }) and
--    groupBy 'user' / 'conversation';
--  * chat_usage_daily_totals: the same per UTC day and (provider, model, currency) only: a few rows
--    a day, read by the unfiltered reports (groupBy 'day' / 'model', the admin dashboard);
--  * chat_usage_rollup_state.rolled_up_to: every UTC day before it is rolled up, except the days
--    listed in chat_usage_rollup_dirty (ledger rows inserted into, or deleted from, a closed day),
--    which usage() reads from the raw ledger until the next refresh recomputes them.
-- The rollups are maintained by cb.chat.refreshUsageRollups() (and in the background), never by a
-- trigger: chat_usage is a distributed table (docs/scaling.md) and keeps no AFTER triggers. The
-- ledger's writers (append, erase) mark the closed days they touch dirty in the same statement.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE TABLE chat_usage_daily (
  day timestamptz NOT NULL,
  user_id uuid NOT NULL,
  conversation_id uuid NOT NULL,
  author_user_id uuid NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  currency text,
  calls bigint NOT NULL CONSTRAINT chat_usage_daily_calls_check CHECK (calls > 0),
  ok_calls bigint NOT NULL,
  error_calls bigint NOT NULL,
  aborted_calls bigint NOT NULL,
  input_tokens numeric NOT NULL,
  output_tokens numeric NOT NULL,
  cached_tokens numeric NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost numeric
);

-- Erasure (WHERE user_id = $1) and the distribution key first.
CREATE INDEX chat_usage_daily_user_idx ON chat_usage_daily (user_id, day);
-- usage({ from, to }) with groupBy 'user' / 'conversation' and refresh's DELETE of a day range.
CREATE INDEX chat_usage_daily_day_idx ON chat_usage_daily (day);
-- usage({ conversationId }).
CREATE INDEX chat_usage_daily_conversation_idx ON chat_usage_daily (conversation_id, day);
-- usage({ userId }): the author.
CREATE INDEX chat_usage_daily_author_idx ON chat_usage_daily (author_user_id, day);

CREATE TABLE chat_usage_daily_totals (
  day timestamptz NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  currency text,
  calls bigint NOT NULL CONSTRAINT chat_usage_daily_totals_calls_check CHECK (calls > 0),
  ok_calls bigint NOT NULL,
  error_calls bigint NOT NULL,
  aborted_calls bigint NOT NULL,
  input_tokens numeric NOT NULL,
  output_tokens numeric NOT NULL,
  cached_tokens numeric NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost numeric
);

CREATE INDEX chat_usage_daily_totals_day_idx ON chat_usage_daily_totals (day);

-- One row: how far the usage rollups reach.
CREATE TABLE chat_usage_rollup_state (
  id boolean PRIMARY KEY DEFAULT true CONSTRAINT chat_usage_rollup_state_singleton CHECK (id),
  rolled_up_to timestamptz NOT NULL DEFAULT '-infinity',
  refreshed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO chat_usage_rollup_state DEFAULT VALUES;

CREATE TRIGGER chat_usage_rollup_state_set_updated_at BEFORE UPDATE ON chat_usage_rollup_state
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Closed UTC days whose ledger rows changed after (or while) they were rolled up.
CREATE TABLE chat_usage_rollup_dirty (
  day timestamptz PRIMARY KEY
);

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
-- carebase:lint-ignore ban-drop-table: the down of this migration removes the tables its up added
DROP TABLE chat_usage_rollup_dirty;
DROP TABLE chat_usage_rollup_state;
DROP TABLE chat_usage_daily_totals;
DROP TABLE chat_usage_daily;
