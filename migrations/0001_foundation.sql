-- carebase 0001: shared functions used by every table.
-- Runs with search_path set to the carebase schema; functions pin that search_path
-- (SET search_path FROM CURRENT) so they never resolve names through a caller's path.

-- Keeps updated_at current on every UPDATE of a table that has it.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- Creates the monthly range partitions of `parent` (partitioned on a timestamptz column) that
-- cover the months from `from_month` through `months_ahead` months after it, if missing.
-- Partitions are named <parent>_pYYYYMM. Returns how many partitions it created.
CREATE FUNCTION ensure_monthly_partitions(parent text, from_month timestamptz, months_ahead integer)
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

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP FUNCTION ensure_monthly_partitions(text, timestamptz, integer);
DROP FUNCTION set_updated_at();
