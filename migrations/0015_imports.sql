-- carebase 0015: imports that keep everything (cb.imports).
--
-- Rows imported from another system keep their original id as external_id, unique per
-- import_source (the system's name, chosen by the host, e.g. 'mongo-prod'), so re-running an
-- import inserts nothing: the batch inserts are INSERT ... ON CONFLICT DO NOTHING on the unique
-- indexes of 0016-0019 (built CONCURRENTLY, one per migration). Both columns are NULL for rows
-- carebase created itself. Unique keys of the growing tables start with user_id (the column a
-- distributed deployment would shard by), as every other key of theirs does.
--
-- Audit entries cannot carry new columns: their hash (audit_entry_hash) covers a fixed list and
-- would leave them unprotected. An imported entry records its source and external id in its own
-- (hashed) metadata instead, and audit_import_keys claims each (source, external id) once: the
-- import inserts an entry only for the keys it claimed in the same statement.
--
-- Nullable columns without a default: a catalog-only change, no table rewrite.

ALTER TABLE users ADD COLUMN import_source text, ADD COLUMN external_id text;
-- carebase:lint-ignore multiple-lock-statements: catalog-only ADD COLUMNs (no rewrite, no scan), taken in the foreign keys' order users -> conversations -> chat_messages that the chat writes also follow
ALTER TABLE conversations ADD COLUMN import_source text, ADD COLUMN external_id text;
-- carebase:lint-ignore multiple-lock-statements: catalog-only, as above
ALTER TABLE chat_messages ADD COLUMN import_source text, ADD COLUMN external_id text;

CREATE TABLE audit_import_keys (
  source text NOT NULL CONSTRAINT audit_import_keys_source_check CHECK (length(source) BETWEEN 1 AND 100),
  external_id text NOT NULL CONSTRAINT audit_import_keys_external_id_check CHECK (length(external_id) BETWEEN 1 AND 200),
  occurred_at timestamptz NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audit_import_keys_pkey PRIMARY KEY (source, external_id)
);

-- carebase:down
-- carebase:lint-ignore-file multiple-lock-statements: the down drops what the up added, catalog-only (DROP COLUMN marks the columns dropped; no rewrite)
DROP TABLE IF EXISTS audit_import_keys;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns it added
ALTER TABLE chat_messages DROP COLUMN IF EXISTS external_id, DROP COLUMN IF EXISTS import_source;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns it added
ALTER TABLE conversations DROP COLUMN IF EXISTS external_id, DROP COLUMN IF EXISTS import_source;
-- carebase:lint-ignore ban-drop-column: the down of this migration removes the columns it added
ALTER TABLE users DROP COLUMN IF EXISTS external_id, DROP COLUMN IF EXISTS import_source;
