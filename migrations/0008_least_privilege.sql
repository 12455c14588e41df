-- carebase 0008: the least-privilege role split.
--
-- Two roles: the owner (runs migrations, owns every table and function here) and an app role
-- (granted by grantAppRole() from carebase/migration: data access only, no DDL, no UPDATE, DELETE
-- or TRUNCATE on audit tables, no write access to the chain or the seal state). What the app needs
-- at run time that takes DDL or privileged bookkeeping runs through the SECURITY DEFINER functions
-- below, owned by the owner, called on the caller's own connection:
--
--   audit_ensure_partitions(from, ahead)      monthly partitions of audit_log and audit_chain
--   analytics_ensure_partitions(from, ahead)  monthly partitions of analytics_events
--   audit_seal()                              appends committed entries to the chains
--   analytics_drop_partitions_before(cutoff)  analytics retention (the app may delete events anyway)
--
-- audit_drop_partitions_before() (audit retention) stays SECURITY INVOKER: only the owner can
-- drop audit partitions, so a compromised app cannot erase the audit trail.
--
-- Every function here, and every existing one, pins search_path to the carebase schema followed
-- explicitly by pg_temp, so no temporary table a caller creates can shadow a carebase table
-- inside a function (pg_catalog, not listed, is searched first). Each SECURITY DEFINER function
-- is executable only by its owner and the roles grantAppRole() names (EXECUTE revoked from PUBLIC).

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

ALTER FUNCTION set_updated_at() SET search_path FROM CURRENT;
ALTER FUNCTION ensure_monthly_partitions(text, timestamptz, integer) SET search_path FROM CURRENT;
ALTER FUNCTION audit_on_insert() SET search_path FROM CURRENT;
ALTER FUNCTION audit_verify(timestamptz, timestamptz) SET search_path FROM CURRENT;
ALTER FUNCTION audit_drop_partitions_before(timestamptz) SET search_path FROM CURRENT;
ALTER FUNCTION analytics_mark_dirty() SET search_path FROM CURRENT;
ALTER FUNCTION audit_seal() SECURITY DEFINER SET search_path FROM CURRENT;

-- Whether the monthly partitions `<prefix>_pYYYYMM` of each of `prefixes` exist for the months
-- from `from_month` through `months_ahead` months after it (a lock-free catalog lookup).
CREATE FUNCTION monthly_partitions_present(prefixes text[], from_month timestamptz, months_ahead integer)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
  m timestamptz;
  prefix text;
BEGIN
  FOR i IN 0..months_ahead LOOP
    m := date_trunc('month', from_month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => i);
    FOREACH prefix IN ARRAY prefixes LOOP
      IF to_regclass(format('%I.%I', current_schema(), prefix || '_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'))) IS NULL THEN
        RETURN false;
      END IF;
    END LOOP;
  END LOOP;
  RETURN true;
END
$$;

-- Refuses arguments a runtime caller has no reason to pass (a bounded number of months, a finite
-- month inside the range carebase accepts for dates).
CREATE FUNCTION check_partition_request(from_month timestamptz, months_ahead integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF from_month IS NULL OR NOT isfinite(from_month) OR from_month < '1900-01-01 00:00:00+00'
     OR from_month >= '10000-01-01 00:00:00+00' OR months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 60 THEN
    RAISE EXCEPTION 'carebase: partitions are created for years 1900-9999, at most 60 months ahead'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION audit_ensure_partitions(from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  created integer;
  created_chain integer;
  part record;
BEGIN
  PERFORM check_partition_request(from_month, months_ahead);
  -- The common case takes no lock: every partition is there.
  IF monthly_partitions_present(ARRAY['audit_log', 'audit_chain'], from_month, months_ahead) THEN
    RETURN 0;
  END IF;
  created := ensure_monthly_partitions('audit_log', from_month, months_ahead);
  created_chain := ensure_monthly_partitions('audit_chain', from_month, months_ahead);
  IF created > 0 OR created_chain > 0 THEN
    FOR part IN
      SELECT c.oid::regclass AS rel, c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN (to_regclass('audit_log'), to_regclass('audit_chain'))
        AND NOT EXISTS (
          SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = c.relname || '_no_truncate'
        )
    LOOP
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
        part.relname || '_no_truncate', part.rel);
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC', part.rel);
    END LOOP;
  END IF;
  RETURN greatest(created, created_chain);
END
$$;

-- Creates the monthly partitions of analytics_events covering from_month through months_ahead
-- months after it. Returns how many were new.
CREATE FUNCTION analytics_ensure_partitions(from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
BEGIN
  PERFORM check_partition_request(from_month, months_ahead);
  IF monthly_partitions_present(ARRAY['analytics_events'], from_month, months_ahead) THEN
    RETURN 0;
  END IF;
  RETURN ensure_monthly_partitions('analytics_events', from_month, months_ahead);
END
$$;

-- Analytics retention: drops the monthly partitions of analytics_events that end at or before
-- `cutoff` and records that raw events before it are gone. Returns the dropped partitions' names.
CREATE FUNCTION analytics_drop_partitions_before(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  part record;
BEGIN
  IF cutoff IS NULL OR NOT isfinite(cutoff) THEN
    RAISE EXCEPTION 'carebase: the retention cutoff must be a finite time' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = to_regclass('analytics_events') AND c.relname ~ '^analytics_events_p[0-9]{6}$'
    ORDER BY c.relname
  LOOP
    CONTINUE WHEN make_timestamptz(substring(part.relname FROM 19 FOR 4)::int, substring(part.relname FROM 23 FOR 2)::int,
      1, 0, 0, 0, 'UTC') + interval '1 month' > cutoff;
    EXECUTE format('DROP TABLE %I.%I', current_schema(), part.relname);
    RETURN NEXT part.relname;
  END LOOP;
  UPDATE analytics_rollup_state SET raw_retained_from = greatest(raw_retained_from, cutoff);
END
$$;

REVOKE EXECUTE ON FUNCTION audit_seal() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_ensure_partitions(timestamptz, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION analytics_ensure_partitions(timestamptz, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION analytics_drop_partitions_before(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_drop_partitions_before(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ensure_monthly_partitions(text, timestamptz, integer) FROM PUBLIC;

-- carebase:down
GRANT EXECUTE ON FUNCTION audit_seal() TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_drop_partitions_before(timestamptz) TO PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_monthly_partitions(text, timestamptz, integer) TO PUBLIC;
DROP FUNCTION IF EXISTS analytics_drop_partitions_before(timestamptz);
DROP FUNCTION IF EXISTS analytics_ensure_partitions(timestamptz, integer);
CREATE OR REPLACE FUNCTION audit_ensure_partitions(from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path FROM CURRENT
AS $$
DECLARE
  created integer;
  part record;
BEGIN
  created := ensure_monthly_partitions('audit_log', from_month, months_ahead);
  PERFORM ensure_monthly_partitions('audit_chain', from_month, months_ahead);
  IF created > 0 THEN
    FOR part IN
      SELECT c.oid::regclass AS rel, c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN (to_regclass('audit_log'), to_regclass('audit_chain'))
        AND NOT EXISTS (
          SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = c.relname || '_no_truncate'
        )
    LOOP
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
        part.relname || '_no_truncate', part.rel);
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC', part.rel);
    END LOOP;
  END IF;
  RETURN created;
END
$$;
GRANT EXECUTE ON FUNCTION audit_ensure_partitions(timestamptz, integer) TO PUBLIC;
DROP FUNCTION IF EXISTS check_partition_request(timestamptz, integer);
DROP FUNCTION IF EXISTS monthly_partitions_present(text[], timestamptz, integer);
ALTER FUNCTION audit_seal() SECURITY INVOKER SET search_path FROM CURRENT;
ALTER FUNCTION analytics_mark_dirty() SET search_path FROM CURRENT;
ALTER FUNCTION audit_drop_partitions_before(timestamptz) SET search_path FROM CURRENT;
ALTER FUNCTION audit_verify(timestamptz, timestamptz) SET search_path FROM CURRENT;
ALTER FUNCTION audit_on_insert() SET search_path FROM CURRENT;
ALTER FUNCTION ensure_monthly_partitions(text, timestamptz, integer) SET search_path FROM CURRENT;
ALTER FUNCTION set_updated_at() SET search_path FROM CURRENT;
