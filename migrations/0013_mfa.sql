-- carebase 0013: multi-factor authentication (TOTP, backup codes, login challenges).
--
-- user_mfa: one TOTP enrolment per account. totp_secret is AES-256-GCM ciphertext (12-byte IV,
-- ciphertext, 16-byte tag) under a key the host provides (users.mfa.encryptionKey), with the
-- user id as associated data; key_id names the key (a digest, never the key). confirmed_at is null
-- while an enrolment awaits its first code. last_used_step is the TOTP time step of the last
-- accepted code: a code is accepted only for a later step, so a code is never accepted twice.
-- mfa_backup_codes: ten single-use codes per account, stored as SHA-256 digests; deleted on use.
-- mfa_challenges: a password that was right for an enrolled account yields a challenge (256-bit
-- token, stored as SHA-256) that users.mfa.verify completes once; expired ones are deleted by the
-- next login. Every table cascades with the account (erase).

CREATE TABLE user_mfa (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  totp_secret bytea NOT NULL CONSTRAINT user_mfa_totp_secret_check CHECK (length(totp_secret) BETWEEN 29 AND 128),
  key_id text NOT NULL CONSTRAINT user_mfa_key_id_check CHECK (key_id ~ '^[0-9a-f]{16}$'),
  confirmed_at timestamptz,
  last_used_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER user_mfa_set_updated_at BEFORE UPDATE ON user_mfa
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE mfa_backup_codes (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL CONSTRAINT mfa_backup_codes_code_hash_check CHECK (length(code_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mfa_backup_codes_pkey PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL CONSTRAINT mfa_challenges_token_hash_check CHECK (length(token_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CONSTRAINT mfa_challenges_pkey PRIMARY KEY (user_id, token_hash),
  CONSTRAINT mfa_challenges_expiry_check CHECK (expires_at > created_at)
);

-- verify(challenge): WHERE token_hash = $1
CREATE UNIQUE INDEX mfa_challenges_token_hash_key ON mfa_challenges (token_hash, user_id);
-- pruning: WHERE expires_at < $1
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

-- carebase:down
DROP TABLE IF EXISTS mfa_challenges;
DROP TABLE IF EXISTS mfa_backup_codes;
DROP TABLE IF EXISTS user_mfa;
