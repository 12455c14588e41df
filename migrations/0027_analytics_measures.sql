-- carebase 0027: numeric measures on analytics events, rolled up exactly per hour, with a
-- mergeable percentile sketch.
--
--  * analytics_events.measures: the event's named numbers (`{"tokens": 812, "costUsd": 0.0041}`),
--    declared per event name in the host's options and validated before they are written. Stored
--    as jsonb numbers, which are PostgreSQL numerics: sums over them are exact decimals.
--    Adding a nullable column without a default to a partitioned table is a catalog change only.
--  * analytics_rollup_hourly_measures: per UTC hour, event and measure: count, exact sum (numeric),
--    min and max. Mergeable across hours by sum / min / max.
--  * analytics_rollup_hourly_sketch: per UTC hour, event and measure, a DDSketch with relative
--    accuracy 1%: the count of values per logarithmic bin. Bins merge by adding counts, so a
--    percentile over any set of hours is read from the summed bins. The bin of a value v is
--    computed in one place (src/repositories/analytics/measure-sketch.ts): 0 for |v| < 1e-9,
--    else sign(v) * (100000 + ceil(ln|v| / ln(gamma))) with gamma = 1.01 / 0.99, so bins sort
--    like their values.
--  * analytics_rollup_daily_sketch: the hourly sketches summed per UTC day (recomputed from the
--    hourly ones for every day a refresh touches), so a percentile over 30 days reads 30 rows per
--    bin instead of 720; queries use it for whole clean UTC days when the buckets allow.
-- All are derived data, recomputed from raw events by refreshRollups like the other rollups.

ALTER TABLE analytics_events ADD COLUMN measures jsonb;

CREATE TABLE analytics_rollup_hourly_measures (
  hour timestamptz NOT NULL,
  event_type text NOT NULL,
  event_name text NOT NULL,
  measure text NOT NULL,
  n bigint NOT NULL CONSTRAINT analytics_rollup_hourly_measures_n_check CHECK (n > 0),
  total numeric NOT NULL,
  min numeric NOT NULL,
  max numeric NOT NULL,
  PRIMARY KEY (hour, event_type, event_name, measure)
);

CREATE TABLE analytics_rollup_hourly_sketch (
  hour timestamptz NOT NULL,
  event_type text NOT NULL,
  event_name text NOT NULL,
  measure text NOT NULL,
  bin integer NOT NULL,
  n bigint NOT NULL CONSTRAINT analytics_rollup_hourly_sketch_n_check CHECK (n > 0),
  PRIMARY KEY (hour, event_type, event_name, measure, bin)
);

CREATE TABLE analytics_rollup_daily_sketch (
  day timestamptz NOT NULL,
  event_type text NOT NULL,
  event_name text NOT NULL,
  measure text NOT NULL,
  bin integer NOT NULL,
  n bigint NOT NULL CONSTRAINT analytics_rollup_daily_sketch_n_check CHECK (n > 0),
  PRIMARY KEY (day, event_type, event_name, measure, bin)
);

-- carebase:down
DROP TABLE IF EXISTS analytics_rollup_daily_sketch;
DROP TABLE IF EXISTS analytics_rollup_hourly_sketch;
DROP TABLE IF EXISTS analytics_rollup_hourly_measures;
-- carebase:lint-ignore multiple-lock-statements: the rollup tables dropped above are this migration's own, used only by analytics code that a rollback retires with them
ALTER TABLE analytics_events DROP COLUMN IF EXISTS measures;
