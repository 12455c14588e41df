-- carebase 0032: the usage ledger of model calls (cb.chat.append({ usage }), cb.chat.usage()).
--
-- One row per model call behind an assistant message, written in the message's transaction: a
-- usage write that fails fails the append (never a silent zero). Keyed like the messages by the
-- conversation owner's user_id (the distribution column); message_id names the message but is not
-- a foreign key: the ledger outlives message retention and clear() (costs stay accountable), and
-- is removed with the user's chat on erasure. Costs are exact decimals with an ISO 4217 currency.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE TABLE chat_usage (
  id bigint GENERATED ALWAYS AS IDENTITY,
  user_id uuid NOT NULL,
  conversation_id uuid NOT NULL,
  message_id bigint NOT NULL,
  author_user_id uuid NOT NULL,
  provider text NOT NULL CONSTRAINT chat_usage_provider_check CHECK (length(provider) BETWEEN 1 AND 100),
  model text NOT NULL CONSTRAINT chat_usage_model_check CHECK (length(model) BETWEEN 1 AND 200),
  input_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT chat_usage_input_tokens_check CHECK (input_tokens >= 0),
  output_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT chat_usage_output_tokens_check CHECK (output_tokens >= 0),
  cached_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT chat_usage_cached_tokens_check CHECK (cached_tokens >= 0),
  reasoning_tokens bigint NOT NULL DEFAULT 0 CONSTRAINT chat_usage_reasoning_tokens_check CHECK (reasoning_tokens >= 0),
  cost numeric(24, 12) CONSTRAINT chat_usage_cost_check CHECK (cost >= 0),
  currency text CONSTRAINT chat_usage_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
  latency_ms integer CONSTRAINT chat_usage_latency_check CHECK (latency_ms >= 0),
  status text NOT NULL CONSTRAINT chat_usage_status_check CHECK (status IN ('ok', 'error', 'aborted')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chat_usage_pkey PRIMARY KEY (user_id, id),
  CONSTRAINT chat_usage_cost_currency_check CHECK ((cost IS NULL) = (currency IS NULL))
);

-- usage({ from, to, groupBy }): the time range first.
CREATE INDEX chat_usage_created_at_idx ON chat_usage (created_at);
-- usage({ conversationId }) and the message's own calls.
CREATE INDEX chat_usage_message_idx ON chat_usage (user_id, conversation_id, message_id);

-- carebase:down
-- carebase:lint-ignore ban-drop-table: the down of this migration removes the table its up added
DROP TABLE IF EXISTS chat_usage;
