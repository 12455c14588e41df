-- carebase 0003: login sessions.
-- Only the SHA-256 of a session token is stored (bytea, 32 bytes); the token itself is returned
-- once by sessions.create and never written anywhere. Sessions are revoked by marking
-- (revoked_at, revoke_reason), never deleted, until purgeExpired removes long-ended rows.
-- The table grows with logins, so user_id (the column it would be distributed by) leads its
-- primary key. last_seen_at is deliberately NOT indexed: the once-a-minute touch then stays a
-- HOT update that rewrites no index.

CREATE TABLE sessions (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL CONSTRAINT sessions_token_hash_check CHECK (length(token_hash) = 32),
  ip inet,
  user_agent text CONSTRAINT sessions_user_agent_check CHECK (length(user_agent) <= 512),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoke_reason text CONSTRAINT sessions_revoke_reason_check CHECK (length(revoke_reason) <= 200),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sessions_pkey PRIMARY KEY (user_id, id),
  CONSTRAINT sessions_expiry_check CHECK (expires_at > created_at)
);

-- validate(token) / revoke(token): WHERE token_hash = $1 (one index probe, then the users pkey).
-- user_id is part of the key so the table can be distributed by it (a token_hash collision is a
-- 2^-256 event; uniqueness of the pair is what a distributed table can enforce).
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash, user_id);
-- revoke(sessionId): WHERE id = $1 (user_id-led pkey cannot serve it)
CREATE INDEX sessions_id_idx ON sessions (id);
-- listForUser / revokeAllForUser / exportData: WHERE user_id = $1  -> served by sessions_pkey
-- purgeExpired: WHERE expires_at < $1 OR revoked_at < $1 OR last_seen_at < $2
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON sessions
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP TABLE sessions;
