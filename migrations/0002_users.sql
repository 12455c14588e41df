-- carebase 0002: user accounts.
-- Usernames and emails are unique case-insensitively, enforced by the database (unique indexes on
-- lower()). Roles are an allow-list configured in the application, so the database checks only
-- their shape. Passwords are bcrypt hashes (never anything else: the CHECK refuses plain text);
-- failed_login_count and locked_until implement the per-account lockout, updated atomically by a
-- single UPDATE ... RETURNING per failed login. Erasure deletes the row (sessions cascade).
-- Timestamps the application decides (created_at, last_login_at, locked_until) are written from
-- carebase's injectable clock; the defaults serve rows inserted by hand.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username text NOT NULL CONSTRAINT users_username_check CHECK (length(username) BETWEEN 1 AND 64 AND position('@' in username) = 0),
  email text NOT NULL CONSTRAINT users_email_check CHECK (length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1),
  display_name text CONSTRAINT users_display_name_check CHECK (length(display_name) <= 200),
  password_hash text NOT NULL,
  role text NOT NULL CONSTRAINT users_role_check CHECK (role ~ '^[a-z][a-z0-9_-]{0,31}$'),
  status text NOT NULL DEFAULT 'active' CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled')),
  failed_login_count integer NOT NULL DEFAULT 0 CONSTRAINT users_failed_login_count_check CHECK (failed_login_count >= 0),
  locked_until timestamptz,
  last_login_at timestamptz,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- findByUsername / authenticate with a login without '@': WHERE lower(username) = lower($1)
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
-- findByEmail / authenticate with a login containing '@': WHERE lower(email) = lower($1)
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
-- list({ role?, status?, search?, cursor }): keyset ORDER BY created_at, id
-- (role/status/search filter the ordered scan; accounts number in the thousands, not millions)
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP TABLE users;
