import type { ColumnType, Generated } from 'kysely';
import type { JsonValue } from './audit.js';

/** `analytics_events`: raw events, range-partitioned by month on `occurred_at`. */
export interface AnalyticsEventsTable {
  id: ColumnType<string, never, never>;
  occurred_at: ColumnType<Date, Date | undefined, Date>;
  user_id: string | null;
  session_id: string | null;
  event_type: string;
  event_name: string;
  data: JsonValue | null;
}

/** `analytics_user_keys`: dense integer keys of user ids, for distinct-user bitmaps. */
export interface AnalyticsUserKeysTable {
  user_id: string;
  user_key: ColumnType<number, never, never>;
}

/** `analytics_rollup_hourly`: events per UTC hour and event. */
export interface AnalyticsRollupHourlyTable {
  hour: Date;
  event_type: string;
  event_name: string;
  events: ColumnType<string, string | number | bigint, string | number | bigint>;
}

/** `analytics_rollup_hourly_users`: distinct users per UTC hour and event, as 1024-bit segments. */
export interface AnalyticsRollupHourlyUsersTable {
  hour: Date;
  event_type: string;
  event_name: string;
  segment: number;
  /** A `bit(1024)` string of '0'/'1'. */
  users: string;
}

/** `analytics_rollup_state`: the single row saying how far rollups reach. */
export interface AnalyticsRollupStateTable {
  id: Generated<boolean>;
  rolled_up_to: Generated<Date>;
  raw_retained_from: Generated<Date>;
  refreshed_at: Date | null;
  updated_at: Generated<Date>;
}

/** `analytics_rollup_dirty`: closed hours changed since they were rolled up. */
export interface AnalyticsRollupDirtyTable {
  hour: Date;
}
