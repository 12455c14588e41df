-- carebase 0028: monthly partitions and retention for the host's own tables (an api_logs table,
-- the host's own audit log), the way carebase keeps its own logs, without hand-written DDL.
--
-- The owner registers a table (its own migration calls partitioned_table_register(), or
-- `cb.partitionedTable({...}).register()` connected as the owner). Afterwards the app role keeps
-- it through two SECURITY DEFINER functions that act on registered tables only, with the policy
-- of the registration:
--
--   partitioned_table_ensure(schema, table, from, ahead)  creates monthly partitions <table>_pYYYYMM
--   partitioned_table_apply_retention(schema, table)      drops the partitions that ended before
--                                                          the first day of the month
--                                                          retention_months before the current one
--
-- The app cannot register tables (INSERT on partitioned_tables is not granted), choose a cutoff,
-- or reach an unregistered table (carebase's own audit_log among them). The registered table must
-- be owned by this migration's owner (or a role it belongs to): partitions are created and dropped
-- with the owner's rights. Month boundaries are UTC (the functions pin TimeZone).

CREATE TABLE partitioned_tables (
  table_schema text NOT NULL,
  table_name text NOT NULL CONSTRAINT partitioned_tables_name_check CHECK (length(table_name) <= 55),
  column_name text NOT NULL,
  retention_months integer CONSTRAINT partitioned_tables_retention_check CHECK (retention_months BETWEEN 1 AND 1200),
  months_ahead integer NOT NULL CONSTRAINT partitioned_tables_ahead_check CHECK (months_ahead BETWEEN 0 AND 60),
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_schema, table_name)
);

CREATE TRIGGER partitioned_tables_set_updated_at BEFORE UPDATE ON partitioned_tables
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Registers (or updates) a host table: range-partitioned on exactly `column_name`, a timestamptz,
-- timestamp or date column, owned by a role the owner of partitioned_tables belongs to.
CREATE FUNCTION partitioned_table_register(p_schema text, p_table text, p_column text,
  p_retention_months integer, p_months_ahead integer) RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  rel regclass;
  key_type text;
BEGIN
  rel := to_regclass(format('%I.%I', p_schema, p_table));
  IF rel IS NULL THEN
    RAISE EXCEPTION 'carebase: the table to partition does not exist' USING ERRCODE = 'undefined_object';
  END IF;
  SELECT format_type(a.atttypid, a.atttypmod) INTO key_type
  FROM pg_partitioned_table pt
  JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
  WHERE pt.partrelid = rel AND pt.partstrat = 'r' AND pt.partnatts = 1 AND a.attname = p_column;
  IF key_type IS NULL OR key_type NOT IN ('timestamp with time zone', 'timestamp without time zone', 'date') THEN
    RAISE EXCEPTION 'carebase: the table must be PARTITION BY RANGE on exactly the given timestamptz, timestamp or date column'
      USING ERRCODE = 'wrong_object_type';
  END IF;
  IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'partitioned_tables'::regclass),
                     (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE') THEN
    RAISE EXCEPTION 'carebase: the table must be owned by carebase''s owner (or a role it belongs to)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO partitioned_tables (table_schema, table_name, column_name, retention_months, months_ahead)
  VALUES (p_schema, p_table, p_column, p_retention_months, p_months_ahead)
  ON CONFLICT (table_schema, table_name) DO UPDATE
    SET column_name = excluded.column_name, retention_months = excluded.retention_months,
        months_ahead = excluded.months_ahead;
END
$$;

-- The registration of a table, or an error naming no values.
CREATE FUNCTION partitioned_table_registration(p_schema text, p_table text) RETURNS partitioned_tables
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
  reg partitioned_tables;
BEGIN
  SELECT * INTO reg FROM partitioned_tables WHERE table_schema = p_schema AND table_name = p_table;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'carebase: the table is not registered with partitioned_table_register()'
      USING ERRCODE = 'undefined_object';
  END IF;
  RETURN reg;
END
$$;

-- Creates the monthly partitions of a registered table for the months from `from_month` through
-- `months_ahead` months after it. Returns how many were new.
CREATE FUNCTION partitioned_table_ensure(p_schema text, p_table text, from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
AS $$
DECLARE
  reg partitioned_tables;
  is_tz boolean;
  m timestamptz;
  part text;
  missing boolean := false;
  created integer := 0;
BEGIN
  PERFORM check_partition_request(from_month, months_ahead);
  reg := partitioned_table_registration(p_schema, p_table);
  FOR i IN 0..months_ahead LOOP
    m := date_trunc('month', from_month) + make_interval(months => i);
    IF to_regclass(format('%I.%I', p_schema, p_table || '_p' || to_char(m, 'YYYYMM'))) IS NULL THEN
      missing := true;
    END IF;
  END LOOP;
  IF NOT missing THEN
    RETURN 0; -- the common case takes no lock
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(p_schema || '.' || p_table || '.partitions'));
  SELECT format_type(a.atttypid, a.atttypmod) = 'timestamp with time zone' INTO is_tz
  FROM pg_attribute a WHERE a.attrelid = format('%I.%I', p_schema, p_table)::regclass AND a.attname = reg.column_name;
  FOR i IN 0..months_ahead LOOP
    m := date_trunc('month', from_month) + make_interval(months => i);
    part := p_table || '_p' || to_char(m, 'YYYYMM');
    IF to_regclass(format('%I.%I', p_schema, part)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        p_schema, part, p_schema, p_table,
        to_char(m, 'YYYY-MM-DD') || CASE WHEN is_tz THEN ' 00:00:00+00' ELSE '' END,
        to_char(m + interval '1 month', 'YYYY-MM-DD') || CASE WHEN is_tz THEN ' 00:00:00+00' ELSE '' END);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$;

-- Retention of a registered table: drops its partitions <table>_pYYYYMM whose month ended at or
-- before the first day of the month `retention_months` before the current (UTC) month. The cutoff
-- comes from the registration and the server's clock, never from the caller. Returns the dropped
-- partitions' names; none when the registration keeps everything (retention_months null).
CREATE FUNCTION partitioned_table_apply_retention(p_schema text, p_table text) RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
AS $$
DECLARE
  reg partitioned_tables;
  cutoff timestamptz;
  part record;
BEGIN
  reg := partitioned_table_registration(p_schema, p_table);
  IF reg.retention_months IS NULL THEN
    RETURN;
  END IF;
  cutoff := date_trunc('month', now()) - make_interval(months => reg.retention_months);
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = format('%I.%I', p_schema, p_table)::regclass
      AND left(c.relname, length(p_table)) = p_table
      AND substring(c.relname FROM length(p_table) + 1) ~ '^_p[0-9]{6}$'
    ORDER BY c.relname
  LOOP
    CONTINUE WHEN make_timestamptz(substring(right(part.relname, 6) FROM 1 FOR 4)::int,
      substring(right(part.relname, 6) FROM 5 FOR 2)::int, 1, 0, 0, 0, 'UTC') + interval '1 month' > cutoff;
    EXECUTE format('DROP TABLE %I.%I', p_schema, part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION partitioned_table_register(text, text, text, integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION partitioned_table_registration(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION partitioned_table_ensure(text, text, timestamptz, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION partitioned_table_apply_retention(text, text) FROM PUBLIC;

-- carebase:down
DROP FUNCTION IF EXISTS partitioned_table_apply_retention(text, text);
DROP FUNCTION IF EXISTS partitioned_table_ensure(text, text, timestamptz, integer);
DROP FUNCTION IF EXISTS partitioned_table_registration(text, text);
DROP FUNCTION IF EXISTS partitioned_table_register(text, text, text, integer, integer);
DROP TABLE IF EXISTS partitioned_tables;
