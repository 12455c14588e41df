-- carebase 0033: envelope encryption of chat content (docs/encryption.md).
--
-- encryption_data_keys: each user's data keys (AES-256, random), stored only wrapped by a
-- key-encryption key (KEK) that lives outside the database, in the host's keyring (kek_id names
-- it; the wrap is bound to the user id and version, so a wrapped key moved to another user does
-- not unwrap). One row per (user, version): envelopes name the version they were sealed with.
-- Deleting a user's rows destroys their keys (crypto-shredding): their ciphertext anywhere,
-- copied rows included, can no longer be decrypted. ON DELETE CASCADE from users, so erasing a
-- user erases the keys in the same statement.
-- kek_id is indexed for KEK rotation (rewrap every data key still under an old KEK, in batches).

CREATE TABLE encryption_data_keys (
  user_id uuid NOT NULL CONSTRAINT encryption_data_keys_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
  version integer NOT NULL CONSTRAINT encryption_data_keys_version_check CHECK (version > 0),
  kek_id text NOT NULL CONSTRAINT encryption_data_keys_kek_id_check CHECK (length(kek_id) BETWEEN 1 AND 200),
  wrapped_key bytea NOT NULL CONSTRAINT encryption_data_keys_wrapped_key_check CHECK (length(wrapped_key) BETWEEN 1 AND 8192),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT encryption_data_keys_pkey PRIMARY KEY (user_id, version)
);

CREATE INDEX encryption_data_keys_kek_idx ON encryption_data_keys (kek_id, user_id, version);

CREATE TRIGGER encryption_data_keys_set_updated_at BEFORE UPDATE ON encryption_data_keys
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP TABLE encryption_data_keys;
