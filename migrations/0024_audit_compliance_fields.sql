-- carebase 0024: the audit fields compliance frameworks expect, and their indexes.
--
--   severity            info | notice | warning | high | critical (default info)
--   purpose_of_use      why the record was accessed or disclosed (HL7 PurposeOfUse codes such as
--                       TREAT, HPAYMT, HOPERAT, ETREAT, PUBHLTH, or free text)
--   legal_basis         the legal basis of the processing or disclosure (e.g. GDPR art. 9(2)(h))
--   recipient           who received a disclosure (a person or organization)
--   description         what was disclosed, in words (HIPAA 164.528 accounting)
--   break_glass         emergency access outside the actor's normal rights, with its reason
--
-- The entry hash covers them: audit_entry_hash_v2() is audit_entry_hash() (the v1 canonical form)
-- for an entry whose new fields all have their defaults, so every entry written before this
-- migration still verifies, and a canonical form tagged 'carebase.audit.v2' that appends the new
-- fields otherwise. Changing any of them on an old entry changes its hash: verify() reports it.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

-- carebase:lint-ignore constraint-missing-not-valid: a constant default every row satisfies; the check is validated once, inside this migration
ALTER TABLE audit_log
  ADD COLUMN severity text NOT NULL DEFAULT 'info'
    CONSTRAINT audit_log_severity_check CHECK (severity IN ('info', 'notice', 'warning', 'high', 'critical')),
  ADD COLUMN purpose_of_use text,
  ADD COLUMN legal_basis text,
  ADD COLUMN recipient text,
  ADD COLUMN description text,
  ADD COLUMN break_glass boolean NOT NULL DEFAULT false,
  ADD COLUMN break_glass_reason text;

CREATE FUNCTION audit_entry_hash_v2(
  id bigint, occurred_at timestamptz, actor_user_id uuid, actor_type text, action text,
  resource_type text, resource_id text, subject_id text, outcome text, outcome_detail text,
  ip inet, user_agent text, request_id text, changes jsonb, metadata jsonb, txid bigint,
  severity text, purpose_of_use text, legal_basis text, recipient text, description text,
  break_glass boolean, break_glass_reason text
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path FROM CURRENT
AS $$
  SELECT CASE
    WHEN severity = 'info' AND purpose_of_use IS NULL AND legal_basis IS NULL AND recipient IS NULL
         AND description IS NULL AND break_glass = false AND break_glass_reason IS NULL
    THEN audit_entry_hash(id, occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome, outcome_detail, ip, user_agent, request_id, changes, metadata, txid)
    ELSE sha256(convert_to(jsonb_build_array(
      'carebase.audit.v2', id::text,
      to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      actor_user_id::text, actor_type, action, resource_type, resource_id, subject_id, outcome,
      outcome_detail, ip::text, user_agent, request_id, changes, metadata, txid::text,
      severity, purpose_of_use, legal_basis, recipient, description, break_glass, break_glass_reason
    )::text, 'UTF8'))
  END
$$;

CREATE OR REPLACE FUNCTION audit_row_hash(l audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $$
  SELECT audit_entry_hash_v2(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
    l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
    l.changes, l.metadata, l.txid, l.severity, l.purpose_of_use, l.legal_basis, l.recipient,
    l.description, l.break_glass, l.break_glass_reason)
$$;

CREATE OR REPLACE FUNCTION audit_on_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  NEW.txid := pg_current_xact_id()::text::bigint;
  NEW.row_hash := audit_entry_hash_v2(NEW.id, NEW.occurred_at, NEW.actor_user_id, NEW.actor_type, NEW.action,
    NEW.resource_type, NEW.resource_id, NEW.subject_id, NEW.outcome, NEW.outcome_detail, NEW.ip,
    NEW.user_agent, NEW.request_id, NEW.changes, NEW.metadata, NEW.txid, NEW.severity, NEW.purpose_of_use,
    NEW.legal_basis, NEW.recipient, NEW.description, NEW.break_glass, NEW.break_glass_reason);
  RETURN NEW;
END
$$;

-- cb.audit.report.breakGlass({ from, to }) newest first: a small partial index (break-glass
-- entries are rare). Reports about one subject use audit_log_subject_idx (subject_id, occurred_at, id).
-- carebase:lint-ignore require-concurrent-index-creation: CONCURRENTLY is not supported on a partitioned table; the partial index only holds break-glass entries
CREATE INDEX audit_log_break_glass_idx ON audit_log (occurred_at DESC, id DESC) WHERE break_glass;

-- carebase:down
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);
DROP INDEX IF EXISTS audit_log_break_glass_idx;
CREATE OR REPLACE FUNCTION audit_on_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  NEW.txid := pg_current_xact_id()::text::bigint;
  NEW.row_hash := audit_entry_hash(NEW.id, NEW.occurred_at, NEW.actor_user_id, NEW.actor_type, NEW.action,
    NEW.resource_type, NEW.resource_id, NEW.subject_id, NEW.outcome, NEW.outcome_detail, NEW.ip,
    NEW.user_agent, NEW.request_id, NEW.changes, NEW.metadata, NEW.txid);
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION audit_row_hash(l audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $$
  SELECT audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
    l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
    l.changes, l.metadata, l.txid)
$$;
DROP FUNCTION IF EXISTS audit_entry_hash_v2(bigint, timestamptz, uuid, text, text, text, text, text, text, text, inet, text, text, jsonb, jsonb, bigint, text, text, text, text, text, boolean, text);
-- carebase:lint-ignore ban-drop-column: the down of this migration removes what its up added
ALTER TABLE audit_log
  DROP COLUMN IF EXISTS break_glass_reason,
  DROP COLUMN IF EXISTS break_glass,
  DROP COLUMN IF EXISTS description,
  DROP COLUMN IF EXISTS recipient,
  DROP COLUMN IF EXISTS legal_basis,
  DROP COLUMN IF EXISTS purpose_of_use,
  DROP COLUMN IF EXISTS severity;
