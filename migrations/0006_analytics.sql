-- carebase 0006: analytics events, range-partitioned by month on occurred_at, plus exact hourly
-- rollups that keep summaries fast as history grows.
--
-- analytics_events.user_id is deliberately NOT a foreign key to users:
--  * ingest is the hot path: a foreign key costs a lookup in users per row (and a share lock on
--    the user row), which would halve bulk COPY speed;
--  * events may name users the host keeps elsewhere (or ids of users already erased), and a
--    late-arriving event must never fail because its user is gone;
--  * erasure of a user is explicit (eraseAnalyticsForUser, wired into users.erase), not an
--    ON DELETE CASCADE that would turn one user deletion into a scan of every partition.
--
-- Rollups (exact, no extensions):
--  * analytics_rollup_hourly: events per UTC hour and (event_type, event_name);
--  * analytics_rollup_hourly_users: per UTC hour and event, the set of distinct users as bitmaps
--    over dense user keys (analytics_user_keys), in fixed 1024-bit segments so that bit_or() can
--    union any number of hours and bit_count() counts exact distinct users;
--  * hours are the unit so that day/week buckets in any whole-hour-offset time zone are exact;
--  * analytics_rollup_state.rolled_up_to: every hour before it is rolled up, except the hours
--    listed in analytics_rollup_dirty (late inserts or deletes into closed hours), which queries
--    read from raw events until the next refresh recomputes them.

CREATE TABLE analytics_events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  user_id uuid,
  session_id text CONSTRAINT analytics_events_session_id_check CHECK (length(session_id) BETWEEN 1 AND 128),
  event_type text NOT NULL CONSTRAINT analytics_events_event_type_check CHECK (length(event_type) <= 64 AND event_type ~ '^[a-z][a-z0-9_]*$'),
  event_name text NOT NULL CONSTRAINT analytics_events_event_name_check CHECK (length(event_name) <= 128 AND event_name ~ '^[a-z][a-z0-9_.:-]*$'),
  data jsonb,
  -- (Checks use length() plus an unbounded pattern: a bounded {0,127} repeat costs PostgreSQL's
  -- regex engine ~10x more per row on the ingest path.)
  -- The partition key leads the key. user_id is nullable (anonymous events), so it cannot join the
  -- primary key; a scale-out would distribute events by time, which is what analytics reads by.
  PRIMARY KEY (occurred_at, id)
) PARTITION BY RANGE (occurred_at);

-- exportAnalyticsForUser / eraseAnalyticsForUser / summary({ userId }): WHERE user_id = $1 [AND occurred_at range]
CREATE INDEX analytics_events_user_id_idx ON analytics_events (user_id, occurred_at) WHERE user_id IS NOT NULL;
-- Time-range reads (raw edges of every query, refreshRollups) use the primary key (occurred_at, id).

SELECT ensure_monthly_partitions('analytics_events', now(), 2);

-- Dense integer keys for user ids, so distinct-user sets are bitmaps.
CREATE TABLE analytics_user_keys (
  user_id uuid PRIMARY KEY,
  user_key integer GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START WITH 0) UNIQUE
);

-- summary / timeseries / topEvents: WHERE hour >= $1 AND hour < $2 [AND event_type/event_name = ...]
CREATE TABLE analytics_rollup_hourly (
  hour timestamptz NOT NULL,
  event_type text NOT NULL,
  event_name text NOT NULL,
  events bigint NOT NULL CONSTRAINT analytics_rollup_hourly_events_check CHECK (events > 0),
  PRIMARY KEY (hour, event_type, event_name)
);

-- uniqueUsers of every query: WHERE hour >= $1 AND hour < $2 ... GROUP BY segment, bit_or(users)
CREATE TABLE analytics_rollup_hourly_users (
  hour timestamptz NOT NULL,
  event_type text NOT NULL,
  event_name text NOT NULL,
  segment integer NOT NULL CONSTRAINT analytics_rollup_hourly_users_segment_check CHECK (segment >= 0),
  users bit(1024) NOT NULL,
  PRIMARY KEY (hour, event_type, event_name, segment)
);

-- One row: how far rollups reach, and from when raw events are still kept (after retention).
CREATE TABLE analytics_rollup_state (
  id boolean PRIMARY KEY DEFAULT true CONSTRAINT analytics_rollup_state_singleton CHECK (id),
  rolled_up_to timestamptz NOT NULL DEFAULT '-infinity',
  raw_retained_from timestamptz NOT NULL DEFAULT '-infinity',
  refreshed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO analytics_rollup_state DEFAULT VALUES;

CREATE TRIGGER analytics_rollup_state_set_updated_at BEFORE UPDATE ON analytics_rollup_state
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Closed hours whose raw events changed after (or while) they were rolled up. Queries read these
-- hours from raw events (WHERE hour = ANY(...)); refreshRollups recomputes and deletes them.
CREATE TABLE analytics_rollup_dirty (
  hour timestamptz PRIMARY KEY
);

-- Marks the hours touched by a statement dirty when they are already rolled up (before
-- rolled_up_to) or already closed (before the current hour), so a refresh racing the statement
-- cannot miss its rows. One statement-level trigger per statement, not per row.
CREATE FUNCTION analytics_mark_dirty() RETURNS trigger
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

CREATE TRIGGER analytics_events_dirty_insert AFTER INSERT ON analytics_events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_dirty();
CREATE TRIGGER analytics_events_dirty_update AFTER UPDATE ON analytics_events
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_dirty();
CREATE TRIGGER analytics_events_dirty_delete AFTER DELETE ON analytics_events
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_dirty();

-- carebase:down
-- carebase:lint-ignore-file drop-without-if-exists: applied migrations are immutable (checksummed); a missing object fails this down in its transaction, changing nothing
DROP TABLE analytics_events;
DROP FUNCTION analytics_mark_dirty();
DROP TABLE analytics_rollup_dirty;
DROP TABLE analytics_rollup_state;
DROP TABLE analytics_rollup_hourly_users;
DROP TABLE analytics_rollup_hourly;
DROP TABLE analytics_user_keys;
