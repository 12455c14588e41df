-- carebase 0048: the audit entry hash without nested SQL-function calls or per-row settings.
--
-- Every audit_log insert runs the audit_log_hash trigger, and every seal pass and audit_verify()
-- recompute each entry's hash with audit_row_hash(). Since 0024 these called audit_entry_hash_v2(),
-- which called audit_entry_hash(): SQL functions with `SET search_path`, which PostgreSQL can
-- neither inline nor run without a full function call and a setting change each. Measured in psql:
-- 54 us per hash through audit_entry_hash_v2() vs 7 us for the same expression written out; the
-- trigger cost an insert 75 us per row (15 us without any trigger).
--
-- audit_row_hash() and the trigger now compute the hash themselves, in PL/pgSQL with the
-- expressions of 0024: the same bytes (test/audit/hash-function.test.ts holds the trigger's hash,
-- audit_row_hash() and audit_entry_hash_v2() equal, for both forms). Neither sets search_path (a
-- setting change per row cost another 9 us): both are SECURITY INVOKER and name every function they
-- call in pg_catalog, which PostgreSQL searches first. The trigger spells the expressions out rather
-- than call audit_row_hash(), which would cost a function call per row. Now 32 us per row with the
-- trigger. audit_entry_hash() and audit_entry_hash_v2() stay: they define the two forms.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE OR REPLACE FUNCTION audit_row_hash(l audit_log) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF l.severity = 'info' AND l.purpose_of_use IS NULL AND l.legal_basis IS NULL AND l.recipient IS NULL
     AND l.description IS NULL AND l.break_glass = false AND l.break_glass_reason IS NULL THEN
    RETURN pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
      'carebase.audit.v1', l.id::text,
      pg_catalog.to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      l.actor_user_id::text, l.actor_type, l.action, l.resource_type, l.resource_id, l.subject_id, l.outcome,
      l.outcome_detail, l.ip::text, l.user_agent, l.request_id, l.changes, l.metadata, l.txid::text
    )::text, 'UTF8'));
  END IF;
  RETURN pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
    'carebase.audit.v2', l.id::text,
    pg_catalog.to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    l.actor_user_id::text, l.actor_type, l.action, l.resource_type, l.resource_id, l.subject_id, l.outcome,
    l.outcome_detail, l.ip::text, l.user_agent, l.request_id, l.changes, l.metadata, l.txid::text,
    l.severity, l.purpose_of_use, l.legal_basis, l.recipient, l.description, l.break_glass, l.break_glass_reason
  )::text, 'UTF8'));
END
$$;
CREATE OR REPLACE FUNCTION audit_on_insert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.txid := pg_catalog.pg_current_xact_id()::text::bigint;
  IF NEW.severity = 'info' AND NEW.purpose_of_use IS NULL AND NEW.legal_basis IS NULL AND NEW.recipient IS NULL
     AND NEW.description IS NULL AND NEW.break_glass = false AND NEW.break_glass_reason IS NULL THEN
    NEW.row_hash := pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
      'carebase.audit.v1', NEW.id::text,
      pg_catalog.to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      NEW.actor_user_id::text, NEW.actor_type, NEW.action, NEW.resource_type, NEW.resource_id, NEW.subject_id, NEW.outcome,
      NEW.outcome_detail, NEW.ip::text, NEW.user_agent, NEW.request_id, NEW.changes, NEW.metadata, NEW.txid::text
    )::text, 'UTF8'));
  ELSE
  NEW.row_hash := pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
    'carebase.audit.v2', NEW.id::text,
    pg_catalog.to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    NEW.actor_user_id::text, NEW.actor_type, NEW.action, NEW.resource_type, NEW.resource_id, NEW.subject_id, NEW.outcome,
    NEW.outcome_detail, NEW.ip::text, NEW.user_agent, NEW.request_id, NEW.changes, NEW.metadata, NEW.txid::text,
    NEW.severity, NEW.purpose_of_use, NEW.legal_basis, NEW.recipient, NEW.description, NEW.break_glass, NEW.break_glass_reason
  )::text, 'UTF8'));
  END IF;
  RETURN NEW;
END
$$;

-- carebase:down
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);
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
CREATE OR REPLACE FUNCTION audit_row_hash(l audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $$
  SELECT audit_entry_hash_v2(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
    l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
    l.changes, l.metadata, l.txid, l.severity, l.purpose_of_use, l.legal_basis, l.recipient,
    l.description, l.break_glass, l.break_glass_reason)
$$;
