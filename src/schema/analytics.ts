import type { ColumnType, Generated } from 'kysely';
import type { JsonValue } from './audit.js';

/**
 * `analytics_events`: raw events, range-partitioned by month on `occurred_at`.
 *
 * @example
 * ```ts
 * // Raw events of one user in a period (cb.analytics.* queries read rollups and are usually better).
 * const raw = await cb.db
 *   .selectFrom('analytics_events')
 *   .select(['occurred_at', 'event_name', 'data'])
 *   .where('user_id', '=', userId)
 *   .where('occurred_at', '>=', from)
 *   .where('occurred_at', '<', to)
 *   .orderBy('occurred_at')
 *   .execute();
 * ```
 */
export interface AnalyticsEventsTable {
  id: ColumnType<string, never, never>;
  occurred_at: ColumnType<Date, Date | undefined, Date>;
  user_id: string | null;
  session_id: string | null;
  event_type: string;
  event_name: string;
  data: JsonValue | null;
  /** Named numeric measures (`{"tokens": 812}`), declared in `analytics.measures`. */
  measures: JsonValue | null;
}

/**
 * `analytics_user_keys`: dense integer keys of user ids, for distinct-user bitmaps.
 *
 * @example
 * ```ts
 * // How many distinct users have ever been tracked.
 * const { users } = await cb.db
 *   .selectFrom('analytics_user_keys')
 *   .select((eb) => eb.fn.countAll<string>().as('users'))
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface AnalyticsUserKeysTable {
  user_id: string;
  user_key: ColumnType<number, never, never>;
}

/**
 * `analytics_rollup_hourly`: events per UTC hour and event.
 *
 * @example
 * ```ts
 * // Hourly counts of one event straight from the rollup (`events` is a bigint, read as a string).
 * const hours = await cb.db
 *   .selectFrom('analytics_rollup_hourly')
 *   .select(['hour', 'events'])
 *   .where('event_name', '=', 'chat.message_sent')
 *   .where('hour', '>=', from)
 *   .orderBy('hour')
 *   .execute();
 * ```
 */
export interface AnalyticsRollupHourlyTable {
  hour: Date;
  event_type: string;
  event_name: string;
  events: ColumnType<string, string | number | bigint, string | number | bigint>;
}

/**
 * `analytics_rollup_hourly_users`: distinct users per UTC hour and event, as 1024-bit segments.
 *
 * @example
 * ```ts
 * // The 1024-user segments active in each hour for one event (cb.analytics.activeUsers counts the bits).
 * const segments = await cb.db
 *   .selectFrom('analytics_rollup_hourly_users')
 *   .select(['hour', 'segment'])
 *   .where('event_name', '=', 'page.view')
 *   .where('hour', '>=', from)
 *   .execute();
 * ```
 */
export interface AnalyticsRollupHourlyUsersTable {
  hour: Date;
  event_type: string;
  event_name: string;
  segment: number;
  /** A `bit(1024)` string of '0'/'1'. */
  users: string;
}

/**
 * `analytics_rollup_state`: the single row saying how far rollups reach.
 *
 * @example
 * ```ts
 * // Monitoring: how far rollups reach and when they last ran.
 * const state = await cb.db
 *   .selectFrom('analytics_rollup_state')
 *   .select(['rolled_up_to', 'refreshed_at'])
 *   .executeTakeFirst();
 * ```
 */
export interface AnalyticsRollupStateTable {
  id: Generated<boolean>;
  rolled_up_to: Generated<Date>;
  raw_retained_from: Generated<Date>;
  refreshed_at: Date | null;
  updated_at: Generated<Date>;
}

/**
 * `analytics_rollup_dirty`: closed hours changed since they were rolled up.
 *
 * @example
 * ```ts
 * // Monitoring: closed hours waiting to be rolled up again (late events arrived for them).
 * const { dirty } = await cb.db
 *   .selectFrom('analytics_rollup_dirty')
 *   .select((eb) => eb.fn.countAll<string>().as('dirty'))
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface AnalyticsRollupDirtyTable {
  hour: Date;
}

/**
 * `analytics_rollup_hourly_measures`: per UTC hour, event and measure: count, exact sum, min, max
 * (numerics, read as strings).
 *
 * @example
 * ```ts
 * // Tokens per hour of one event straight from the rollup.
 * const hours = await cb.db
 *   .selectFrom('analytics_rollup_hourly_measures')
 *   .select(['hour', 'total'])
 *   .where('event_name', '=', 'chat.answer')
 *   .where('measure', '=', 'tokens')
 *   .orderBy('hour')
 *   .execute();
 * ```
 */
export interface AnalyticsRollupHourlyMeasuresTable {
  hour: Date;
  event_type: string;
  event_name: string;
  measure: string;
  n: ColumnType<string, string | number | bigint, string | number | bigint>;
  total: ColumnType<string, string | number, string | number>;
  min: ColumnType<string, string | number, string | number>;
  max: ColumnType<string, string | number, string | number>;
}

/**
 * `analytics_rollup_hourly_sketch`: per UTC hour, event and measure, the values per DDSketch bin
 * (relative accuracy 1%); percentiles merge these.
 *
 * @example
 * ```ts
 * // How many sketch bins one measure uses (a size check).
 * const { bins } = await cb.db
 *   .selectFrom('analytics_rollup_hourly_sketch')
 *   .select((eb) => eb.fn.countAll<string>().as('bins'))
 *   .where('measure', '=', 'latencyMs')
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface AnalyticsRollupHourlySketchTable {
  hour: Date;
  event_type: string;
  event_name: string;
  measure: string;
  bin: number;
  n: ColumnType<string, string | number | bigint, string | number | bigint>;
}

/**
 * `analytics_rollup_daily_sketch`: the hourly sketches summed per UTC day (derived from
 * `analytics_rollup_hourly_sketch` by `refreshRollups`).
 *
 * @example
 * ```ts
 * // Days with a latency sketch.
 * const days = await cb.db
 *   .selectFrom('analytics_rollup_daily_sketch')
 *   .select('day')
 *   .distinct()
 *   .where('measure', '=', 'latencyMs')
 *   .execute();
 * ```
 */
export interface AnalyticsRollupDailySketchTable {
  day: Date;
  event_type: string;
  event_name: string;
  measure: string;
  bin: number;
  n: ColumnType<string, string | number | bigint, string | number | bigint>;
}
