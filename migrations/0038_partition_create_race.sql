-- carebase 0038: concurrent first writes into a new month no longer fail with 42P07.
--
-- ensure_monthly_partitions() and partitioned_table_ensure() serialize callers on an advisory lock,
-- then ask to_regclass() whether each partition exists. to_regclass() reads the catalog cache, and
-- taking an advisory lock does not process the invalidations of the transaction that held it, so a
-- caller that waited could still see no partition and run CREATE TABLE for one that had just been
-- committed: with 20 concurrent audit.log() calls meeting a month without partitions, 19 failed
-- with SQLSTATE 42P07. Each CREATE now runs in its own block that treats duplicate_table as "the
-- caller we waited for made it" (CREATE TABLE takes relation locks, which do process
-- invalidations, so it sees the committed table and raises exactly that).

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE OR REPLACE FUNCTION ensure_monthly_partitions(parent text, from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  month_start timestamptz;
  partition_name text;
  created integer := 0;
BEGIN
  -- Serializes concurrent callers (two writers meeting a missing month at once).
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.partitions.' || parent));
  FOR i IN 0..months_ahead LOOP
    month_start := date_trunc('month', from_month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => i);
    partition_name := parent || '_p' || to_char(month_start AT TIME ZONE 'UTC', 'YYYYMM');
    IF to_regclass(format('%I.%I', current_schema(), partition_name)) IS NULL THEN
      BEGIN
        EXECUTE format(
          'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
          current_schema(), partition_name, current_schema(), parent,
          month_start, month_start + interval '1 month'
        );
        created := created + 1;
      EXCEPTION WHEN duplicate_table THEN
        NULL; -- created by the caller we waited for: to_regclass read a stale catalog cache
      END;
    END IF;
  END LOOP;
  RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION partitioned_table_ensure(p_schema text, p_table text, from_month timestamptz, months_ahead integer)
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
      BEGIN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
          p_schema, part, p_schema, p_table,
          to_char(m, 'YYYY-MM-DD') || CASE WHEN is_tz THEN ' 00:00:00+00' ELSE '' END,
          to_char(m + interval '1 month', 'YYYY-MM-DD') || CASE WHEN is_tz THEN ' 00:00:00+00' ELSE '' END);
        created := created + 1;
      EXCEPTION WHEN duplicate_table THEN
        NULL; -- created by the caller we waited for: to_regclass read a stale catalog cache
      END;
    END IF;
  END LOOP;
  RETURN created;
END
$$;

-- carebase:down
CREATE OR REPLACE FUNCTION ensure_monthly_partitions(parent text, from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  month_start timestamptz;
  partition_name text;
  created integer := 0;
BEGIN
  -- Serializes concurrent callers (two writers meeting a missing month at once).
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.partitions.' || parent));
  FOR i IN 0..months_ahead LOOP
    month_start := date_trunc('month', from_month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => i);
    partition_name := parent || '_p' || to_char(month_start AT TIME ZONE 'UTC', 'YYYYMM');
    IF to_regclass(format('%I.%I', current_schema(), partition_name)) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        current_schema(), partition_name, current_schema(), parent,
        month_start, month_start + interval '1 month'
      );
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION partitioned_table_ensure(p_schema text, p_table text, from_month timestamptz, months_ahead integer)
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
