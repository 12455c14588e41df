import { type RawBuilder, sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import {
  type AggregateFilters,
  type AggregateGrouping,
  type AggregatePlan,
  groupExpressions,
  planSources,
} from './aggregate-events.js';
import { sketchBinSql } from './measure-sketch.js';

/** One measure of one group: count, exact sum, min, max (numerics as text), and its sketch. */
export interface MeasureRow {
  readonly g0: string | Date | number | null;
  readonly g1: string | number | null;
  readonly measure: string;
  readonly n: string;
  readonly total: string;
  readonly min: string;
  readonly max: string;
  /** The group's merged sketch: its non-empty bins in ascending order (null without percentiles). */
  readonly bins: readonly number[] | null;
  /** The count of each of `bins`. */
  readonly counts: readonly number[] | null;
}

/**
 * Builds the measure aggregation of `plan` (same split between rollups and raw events as the
 * counts): count, exact sum, min and max per group and measure, and with `percentiles`, the merged
 * sketch of each group (bins and counts in bin order, from the daily and hourly sketches and the
 * raw edges), from which `sketchQuantileBins` (measure-sketch.ts) picks the order statistics: one aggregate
 * over a few thousand rows, no window functions (they cost more than the whole merge).
 */
export function measureSql(
  ctx: RepositoryContext,
  plan: AggregatePlan,
  grouping: AggregateGrouping,
  filters: AggregateFilters,
  percentiles: boolean | readonly string[],
): RawBuilder<MeasureRow> {
  const id = (name: string) => sql.id(ctx.config.schema, name);
  const [r0, r1] = groupExpressions(grouping, sql`hour`);
  const [e0, e1] = groupExpressions(grouping, sql`occurred_at`);
  const [d0, d1] = groupExpressions(grouping, sql`day`);
  const { rollupWhere, rawFrom, rawWhere } = planSources(ctx, plan, filters);
  const stats = sql`
    select g0, g1, measure, sum(n)::bigint as n, sum(total) as total, min(min) as min, max(max) as max from (
      select ${r0} as g0, ${r1} as g1, measure, n, total, min, max
      from ${id('analytics_rollup_hourly_measures')} where ${rollupWhere}
      union all
      select g0, g1, measure, count(*), sum(v), min(v), max(v) from raw group by 1, 2, 3
    ) s group by 1, 2, 3`;
  if (percentiles === false || (Array.isArray(percentiles) && percentiles.length === 0)) {
    return sql<MeasureRow>`
      with raw as (
        select ${e0} as g0, ${e1} as g1, m.key as measure, (m.value #>> '{}')::numeric as v
        from ${rawFrom} cross join lateral jsonb_each(measures) m where ${rawWhere} and measures is not null
      ), stats as (${stats})
      select stats.*, null::integer[] as bins, null::float8[] as counts from stats`;
  }
  const daily = dailyPart(plan, grouping, filters);
  const only = Array.isArray(percentiles) ? sql` and measure = any(${[...percentiles]}::text[])` : sql``;
  return sql<MeasureRow>`
    with raw as (
      select ${e0} as g0, ${e1} as g1, m.key as measure, (m.value #>> '{}')::numeric as v
      from ${rawFrom} cross join lateral jsonb_each(measures) m where ${rawWhere} and measures is not null
    ), stats as (${stats}), bins as (
      select g0, g1, measure, bin, sum(n) as n from (
        select ${r0} as g0, ${r1} as g1, measure, bin, n
        from ${id('analytics_rollup_hourly_sketch')} where ${rollupWhere}${only}${daily?.hourlyExcept ?? sql``}
        union all${
          daily === undefined
            ? sql``
            : sql`
        select ${d0} as g0, ${d1} as g1, measure, bin, n
        from ${id('analytics_rollup_daily_sketch')} where ${daily.where}${only}
        union all`
        }
        select g0, g1, measure, ${sketchBinSql(sql`v`)}, 1 from raw where true${only}
      ) b group by 1, 2, 3, 4
    ), picked as (
      select g0, g1, measure, array_agg(bin order by bin) as bins, array_agg(n::float8 order by bin) as counts
      from bins group by 1, 2, 3
    )
    select stats.*, picked.bins, picked.counts
    from stats left join picked on picked.g0 is not distinct from stats.g0
      and picked.g1 is not distinct from stats.g1 and picked.measure = stats.measure`;
}

const DAY_MS = 86_400_000;

/**
 * The whole UTC days of the plan's rollup range without dirty hours, read from the daily sketches
 * (when the grouping allows: per event, or day/week/month buckets in UTC), and the condition that
 * keeps their hours out of the hourly read.
 */
function dailyPart(
  plan: AggregatePlan,
  grouping: AggregateGrouping,
  filters: AggregateFilters,
): { where: RawBuilder<unknown>; hourlyExcept: RawBuilder<unknown> } | undefined {
  if (
    grouping.kind === 'bucket' &&
    (grouping.unit === 'hour' || (grouping.timezone !== 'UTC' && grouping.timezone !== 'Etc/UTC'))
  ) {
    return undefined;
  }
  const dayFrom = Math.ceil(plan.rollupFrom.getTime() / DAY_MS) * DAY_MS;
  const dayTo = Math.floor(plan.rollupTo.getTime() / DAY_MS) * DAY_MS;
  if (dayTo <= dayFrom) return undefined;
  const dirtyDays = [
    ...new Set(
      plan.dirty
        .map((hour) => Math.floor(hour.getTime() / DAY_MS) * DAY_MS)
        .filter((day) => day >= dayFrom && day < dayTo),
    ),
  ].map((day) => new Date(day).toISOString());
  const from = new Date(dayFrom);
  const to = new Date(dayTo);
  return {
    where: sql.join(
      [
        sql`day >= ${from}`,
        sql`day < ${to}`,
        sql`day <> all(${dirtyDays}::timestamptz[])`,
        ...(filters.eventType === undefined ? [] : [sql`event_type = ${filters.eventType}`]),
        ...(filters.eventName === undefined ? [] : [sql`event_name = ${filters.eventName}`]),
      ],
      sql` and `,
    ),
    // As ranges of the primary key (hour first), so the hourly read is index range scans only.
    hourlyExcept: sql` and (${sql.join(
      [
        sql`(hour >= ${plan.rollupFrom} and hour < ${from})`,
        sql`(hour >= ${to} and hour < ${plan.rollupTo})`,
        ...dirtyDays.map(
          (day) => sql`(hour >= ${day}::timestamptz and hour < ${day}::timestamptz + interval '24 hours')`,
        ),
      ],
      sql` or `,
    )})`,
  };
}
