-- carebase 0007: a late event can no longer slip past a concurrent rollup refresh.
--
-- analytics_mark_dirty() (0006) inserted the dirty hour with ON CONFLICT DO NOTHING. When the hour
-- was already dirty (an earlier committed insert), the new statement added nothing and took no lock,
-- so a refresh whose snapshot predated the new event could delete the dirty row and roll the hour
-- up without the event; once the event committed, nothing marked its hour again and summaries
-- missed it. Now the conflicting row is updated: the refresh's DELETE of that row waits for the
-- writer and, in its repeatable-read transaction, fails to serialize and is retried with a snapshot
-- that holds the event; or the refresh deleted first and the writer inserts the row afresh.

CREATE OR REPLACE FUNCTION analytics_mark_dirty() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  horizon timestamptz;
BEGIN
  SELECT greatest(rolled_up_to, date_trunc('hour', now(), 'UTC')) INTO horizon FROM analytics_rollup_state;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_rollup_dirty (hour)
      SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM new_rows WHERE occurred_at < horizon
      ON CONFLICT (hour) DO UPDATE SET hour = excluded.hour;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO analytics_rollup_dirty (hour)
      SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM old_rows WHERE occurred_at < horizon
      ON CONFLICT (hour) DO UPDATE SET hour = excluded.hour;
  END IF;
  RETURN NULL;
END
$$;

-- carebase:down
CREATE OR REPLACE FUNCTION analytics_mark_dirty() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  horizon timestamptz;
BEGIN
  SELECT greatest(rolled_up_to, date_trunc('hour', now(), 'UTC')) INTO horizon FROM analytics_rollup_state;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_rollup_dirty (hour)
      SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM new_rows WHERE occurred_at < horizon
      ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO analytics_rollup_dirty (hour)
      SELECT DISTINCT date_trunc('hour', occurred_at, 'UTC') FROM old_rows WHERE occurred_at < horizon
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$;
