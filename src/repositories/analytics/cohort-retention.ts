import { sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import type { AnalyticsRetentionCohort } from './funnel-input.js';

/** A parsed retention request. */
export interface RetentionQuery {
  readonly cohortEvent: string;
  readonly returnEvent: string;
  readonly period: 'day' | 'week';
  readonly from: Date;
  readonly to: Date;
  readonly cohort?: 'first' | 'recurring' | undefined;
  readonly timezone?: string | undefined;
}

/**
 * Cohort retention from raw events in one statement: cohorts are (user, period of a cohort event)
 * pairs, the first per user or every one; returns are (user, period of a return event) pairs; a
 * cohort's i-th count is its users with a return in the period i periods after the cohort's,
 * counted on local calendar days (so DST days of 23 or 25 hours are one day).
 */
export async function cohortRetention(
  ctx: RepositoryContext,
  query: RetentionQuery,
): Promise<AnalyticsRetentionCohort[]> {
  const events = sql.id(ctx.config.schema, 'analytics_events');
  const tz = query.timezone ?? 'UTC';
  const unit = query.period;
  const days = unit === 'day' ? 1 : 7;
  const inRange = sql`occurred_at >= ${query.from} and occurred_at < ${query.to} and user_id is not null`;
  const cohorts =
    query.cohort === 'recurring'
      ? sql`select distinct user_id as u, date_trunc(${unit}, occurred_at, ${tz}) as c from ${events}
          where event_name = ${query.cohortEvent} and ${inRange}`
      : sql`select user_id as u, date_trunc(${unit}, min(occurred_at), ${tz}) as c from ${events}
          where event_name = ${query.cohortEvent} and ${inRange} group by 1`;
  const last = new Date(query.to.getTime() - 1);
  const { rows } = await sql<{ c: Date; users: string; returned: string[] | null; periods: number }>`
    with cohorts as (${cohorts}),
    returns as (
      select distinct user_id as u, date_trunc(${unit}, occurred_at, ${tz}) as r from ${events}
      where event_name = ${query.returnEvent} and ${inRange}
    ),
    periods as (
      select g at time zone ${tz} as c
      from generate_series(date_trunc(${unit}, ${query.from}::timestamptz at time zone ${tz}),
        ${last}::timestamptz at time zone ${tz}, ${`${days} days`}::interval) g
    ),
    sizes as (select c, count(*) as users from cohorts group by 1),
    back as (
      select co.c, ((re.r at time zone ${tz})::date - (co.c at time zone ${tz})::date) / ${days} as i, count(*) as n
      from cohorts co join returns re on re.u = co.u and re.r >= co.c
      group by 1, 2
    )
    select p.c, coalesce(s.users, 0) as users,
      ((date_trunc(${unit}, ${last}::timestamptz, ${tz}) at time zone ${tz})::date - (p.c at time zone ${tz})::date) / ${days} + 1 as periods,
      (select array_agg(coalesce(b.n, 0) order by i.i)
       from generate_series(0, ((date_trunc(${unit}, ${last}::timestamptz, ${tz}) at time zone ${tz})::date - (p.c at time zone ${tz})::date) / ${days}) i(i)
       left join back b on b.c = p.c and b.i = i.i) as returned
    from periods p left join sizes s on s.c = p.c
    order by p.c`.execute(ctx.db);
  return rows.map((row) => ({
    cohortStart: row.c,
    users: Number(row.users),
    returned: (row.returned ?? []).map(Number),
  }));
}
