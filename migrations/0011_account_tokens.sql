-- carebase 0011: password-reset and email-verification tokens.
--
-- A token is 256 random bits handed to the host once (to send by email); only its SHA-256 is
-- stored. The primary key (user_id, purpose) keeps one token per account and purpose: a newer
-- request replaces the row, so every older link stops working. Completing a token deletes its row
-- (single-use); a password change deletes the account's reset token. The table therefore never
-- holds more than two rows per account; expired rows are deleted by the next request.
-- email: the address a verification token proves (it must still be the account's address).

CREATE TABLE account_tokens (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CONSTRAINT account_tokens_purpose_check CHECK (purpose IN ('password_reset', 'email_verification')),
  token_hash bytea NOT NULL CONSTRAINT account_tokens_token_hash_check CHECK (length(token_hash) = 32),
  email text CONSTRAINT account_tokens_email_check CHECK (length(email) <= 320),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CONSTRAINT account_tokens_pkey PRIMARY KEY (user_id, purpose),
  CONSTRAINT account_tokens_expiry_check CHECK (expires_at > created_at)
);

-- complete(token): WHERE token_hash = $1 (user_id in the key for distribution, as in sessions).
CREATE UNIQUE INDEX account_tokens_token_hash_key ON account_tokens (token_hash, user_id);
-- purge of expired tokens: WHERE expires_at < $1
CREATE INDEX account_tokens_expires_at_idx ON account_tokens (expires_at);

-- carebase:down
DROP TABLE IF EXISTS account_tokens;
