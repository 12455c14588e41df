import { type RawBuilder, sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import { readRollupState } from './refresh-rollups.js';

const HOUR_MS = 3_600_000;

/** What to group by: nothing, the event, or a time bucket in a time zone. */
export type AggregateGrouping =
  | { readonly kind: 'total' }
  | { readonly kind: 'event' }
  | { readonly kind: 'bucket'; readonly unit: 'hour' | 'day' | 'week' | 'month'; readonly timezone: string };

/** Filters of an aggregation. */
export interface AggregateFilters {
  readonly eventType?: string | undefined;
  readonly eventName?: string | undefined;
  readonly userId?: string | undefined;
}

/** One aggregated group: `g0`/`g1` are the group key (event type/name, or bucket start). */
export interface AggregateRow {
  readonly g0: string | Date | number | null;
  readonly g1: string | number | null;
  readonly events: string;
  readonly users: string;
}

/** How one query splits its range between rollups and raw events. */
export interface AggregatePlan {
  /** Rolled-up hours [rollupFrom, rollupTo) are read from rollups, except `dirty`. */
  readonly rollupFrom: Date;
  readonly rollupTo: Date;
  readonly dirty: readonly Date[];
  /** Half-open ranges read from raw events. */
  readonly raw: readonly (readonly [Date, Date])[];
}

/**
 * Decides, inside the caller's snapshot, which part of [from, to) comes from rollups (whole,
 * clean, rolled-up UTC hours) and which from raw events (the edges, hours not rolled up yet, and
 * dirty hours). `rawOnly` forces everything to raw events.
 */
export async function planAggregate(
  ctx: RepositoryContext,
  from: Date,
  to: Date,
  rawOnly: boolean,
): Promise<AggregatePlan> {
  const state = await readRollupState(ctx);
  const start = Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS;
  const end = Math.min(Math.floor(to.getTime() / HOUR_MS) * HOUR_MS, state.rolledUpTo?.getTime() ?? start);
  if (rawOnly || end <= start) {
    return { rollupFrom: from, rollupTo: from, dirty: [], raw: [[from, to]] };
  }
  const rollupFrom = new Date(start);
  const rollupTo = new Date(end);
  const { rows } = await sql<{ hour: Date }>`
    select hour from ${sql.id(ctx.config.schema, 'analytics_rollup_dirty')}
    where hour >= ${rollupFrom} and hour < ${rollupTo} order by hour`.execute(ctx.db);
  const raw: [Date, Date][] = [];
  if (from.getTime() < start) raw.push([from, rollupFrom]);
  for (const { hour } of rows) {
    const last = raw[raw.length - 1];
    if (last !== undefined && last[1].getTime() === hour.getTime())
      last[1] = new Date(hour.getTime() + HOUR_MS);
    else raw.push([hour, new Date(hour.getTime() + HOUR_MS)]);
  }
  if (end < to.getTime()) raw.push([rollupTo, to]);
  return { rollupFrom, rollupTo, dirty: rows.map((row) => row.hour), raw };
}

export function groupExpressions(
  grouping: AggregateGrouping,
  column: RawBuilder<unknown>,
): RawBuilder<unknown>[] {
  switch (grouping.kind) {
    case 'total':
      return [sql`0`, sql`0`];
    case 'event':
      return [sql`event_type`, sql`event_name`];
    case 'bucket':
      return [sql`date_trunc(${grouping.unit}, ${column}, ${grouping.timezone})`, sql`0`];
  }
}

/** The WHERE of the rollup side, and the FROM and WHERE of the raw side, of `plan`. */
export interface PlanSources {
  readonly rollupWhere: RawBuilder<unknown>;
  readonly rawFrom: RawBuilder<unknown>;
  readonly rawWhere: RawBuilder<unknown>;
}

/** Builds the {@link PlanSources} of `plan` with `filters`. */
export function planSources(
  ctx: RepositoryContext,
  plan: AggregatePlan,
  filters: AggregateFilters,
): PlanSources {
  const id = (name: string) => sql.id(ctx.config.schema, name);
  const rollupWhere = sql.join(
    [
      sql`hour >= ${plan.rollupFrom}`,
      sql`hour < ${plan.rollupTo}`,
      ...(plan.dirty.length > 0
        ? [sql`hour <> all(${plan.dirty.map((d) => d.toISOString())}::timestamptz[])`]
        : []),
      ...(filters.eventType === undefined ? [] : [sql`event_type = ${filters.eventType}`]),
      ...(filters.eventName === undefined ? [] : [sql`event_name = ${filters.eventName}`]),
    ],
    sql` and `,
  );
  const rawRanges =
    plan.raw.length === 0
      ? sql`false`
      : sql.join(
          plan.raw.map(([a, b]) => sql`(occurred_at >= ${a} and occurred_at < ${b})`),
          sql` or `,
        );
  // Many ranges (dirty hours): one index range scan per range on its partition only, through a
  // join on the list of ranges, instead of a long OR that every partition would evaluate.
  const manyRanges = plan.raw.length > 4;
  const rawFrom = manyRanges
    ? sql`unnest(${plan.raw.map(([a]) => a.toISOString())}::timestamptz[], ${plan.raw.map(([, b]) =>
        b.toISOString(),
      )}::timestamptz[]) as ranges(s, e) join ${id('analytics_events')} on occurred_at >= ranges.s and occurred_at < ranges.e`
    : id('analytics_events');
  const rawWhere = sql.join(
    [
      manyRanges ? sql`true` : sql`(${rawRanges})`,
      ...(filters.eventType === undefined ? [] : [sql`event_type = ${filters.eventType}`]),
      ...(filters.eventName === undefined ? [] : [sql`event_name = ${filters.eventName}`]),
      ...(filters.userId === undefined ? [] : [sql`user_id = ${filters.userId}`]),
    ],
    sql` and `,
  );
  return { rollupWhere, rawFrom, rawWhere };
}

/**
 * Builds the aggregation of `plan` as one SQL statement: events and exact distinct users per group.
 * Distinct users = popcount of the OR of the rolled-up user bitmaps, plus raw-event users whose
 * bit is not set there (users without a key yet are never in a bitmap).
 */
export function aggregateSql(
  ctx: RepositoryContext,
  plan: AggregatePlan,
  grouping: AggregateGrouping,
  filters: AggregateFilters,
): RawBuilder<AggregateRow> {
  const id = (name: string) => sql.id(ctx.config.schema, name);
  const [r0, r1] = groupExpressions(grouping, sql`hour`);
  const [e0, e1] = groupExpressions(grouping, sql`occurred_at`);
  const { rollupWhere, rawFrom, rawWhere } = planSources(ctx, plan, filters);
  // Per-event grouping also yields the overall row (g0 and g1 null) from the same scans: the union
  // over events of the already-aggregated per-event bitmaps (a few rows per segment).
  const withTotal = grouping.kind === 'event';
  const totals = withTotal
    ? sql`, rbt as (
      select segment, bit_or(users) as users from rb group by 1
    ), wut as (
      select count(distinct raw.user_id) as users
      from raw
      left join ${id('analytics_user_keys')} k on k.user_id = raw.user_id
      left join rbt on rbt.segment = k.user_key / 1024
      where raw.user_id is not null and (rbt.users is null or get_bit(rbt.users, k.user_key % 1024) = 0)
    )`
    : sql``;
  const totalRow = withTotal
    ? sql`
      union all select null, null, (select coalesce(sum(events), 0) from rc) + (select count(*) from raw),
        (select coalesce(sum(bit_count(users)), 0) from rbt) + (select users from wut)`
    : sql``;
  return sql<AggregateRow>`
    with rc as (
      select ${r0} as g0, ${r1} as g1, sum(events)::bigint as events
      from ${id('analytics_rollup_hourly')} where ${rollupWhere} group by 1, 2
    ), rb as (
      select ${r0} as g0, ${r1} as g1, segment, bit_or(users) as users
      from ${id('analytics_rollup_hourly_users')} where ${rollupWhere} group by 1, 2, 3
    ), raw as (
      select ${e0} as g0, ${e1} as g1, user_id
      from ${rawFrom} where ${rawWhere}
    ), wc as (
      select g0, g1, count(*) as events from raw group by 1, 2
    ), wu as (
      select raw.g0, raw.g1, count(distinct raw.user_id) as users
      from raw
      left join ${id('analytics_user_keys')} k on k.user_id = raw.user_id
      left join rb on rb.g0 = raw.g0 and rb.g1 = raw.g1 and rb.segment = k.user_key / 1024
      where raw.user_id is not null and (rb.users is null or get_bit(rb.users, k.user_key % 1024) = 0)
      group by 1, 2
    ), ru as (
      select g0, g1, sum(bit_count(users))::bigint as users from rb group by 1, 2
    )${totals}
    select g0, g1, sum(events)::bigint as events, sum(users)::bigint as users from (
      select g0, g1, events, 0::bigint as users from rc
      union all select g0, g1, events, 0 from wc
      union all select g0, g1, 0, users from ru
      union all select g0, g1, 0, users from wu${totalRow}
    ) parts
    group by 1, 2`;
}

/**
 * True when every UTC hour of [from, to) lies in a single local hour of `timezone` (whole-hour
 * offsets throughout), so hourly rollups are exact for its day and week buckets.
 */
export async function wholeHourOffsets(
  ctx: RepositoryContext,
  timezone: string,
  from: Date,
  to: Date,
): Promise<boolean> {
  if (timezone === 'UTC' || timezone === 'Etc/UTC') return true;
  const { rows } = await sql<{ ok: boolean | null }>`
    select bool_and(date_trunc('hour', h at time zone ${timezone}) = h at time zone ${timezone}) as ok
    from generate_series(date_trunc('hour', ${from}::timestamptz, 'UTC'), ${to}::timestamptz, interval '1 hour') h`.execute(
    ctx.db,
  );
  return rows[0]?.ok !== false;
}
