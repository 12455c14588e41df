-- The host's own table for what carebase does not own: each Mongo user's embedded arrays
-- (favourite topics, devices), keyed by the carebase user id. A host migration: it runs with the
-- connection's own search_path (the table lands in public), and names carebase's schema
-- (default `carebase`) explicitly. The host's app role gets its grant from the host's deploy scripts.
CREATE TABLE IF NOT EXISTS mongo_user_extras (
  user_id uuid PRIMARY KEY REFERENCES carebase.users (id) ON DELETE CASCADE,
  favorite_topics text[] NOT NULL DEFAULT '{}',
  devices jsonb NOT NULL DEFAULT '[]'
);

-- carebase:down
DROP TABLE IF EXISTS mongo_user_extras;
