import { sql } from 'kysely';
import { ValidationError } from '../../errors/errors.js';
import type { RepositoryContext } from '../context.js';
import {
  type AggregateFilters,
  type AggregateRow,
  aggregateSql,
  planAggregate,
  wholeHourOffsets,
} from './aggregate-events.js';
import type { AnalyticsEventCount, AnalyticsSummary } from './query-input.js';

const UNIT_MS = { hour: 3_600_000, day: 86_400_000, week: 604_800_000, month: 2_419_200_000 } as const;
/** Most buckets one time series may return. */
const MAX_BUCKETS = 100_000;

/** Runs `fn` in one repeatable-read snapshot (or the caller's transaction). */
function inSnapshot<T>(ctx: RepositoryContext, fn: (tx: RepositoryContext) => Promise<T>): Promise<T> {
  return ctx.atomic(fn, { isolation: 'repeatable read' });
}

/** Exact totals and per-event counts over [from, to). */
export function summarize(
  ctx: RepositoryContext,
  from: Date,
  to: Date,
  filters: AggregateFilters,
): Promise<AnalyticsSummary> {
  return inSnapshot(ctx, async (tx) => {
    const plan = await planAggregate(tx, from, to, filters.userId !== undefined);
    const { rows } = await aggregateSql(tx, plan, { kind: 'event' }, filters).execute(tx.db);
    const total = rows.find((row) => row.g0 === null);
    const byEvent = rows
      .filter((row) => row.g0 !== null)
      .map(
        (row: AggregateRow): AnalyticsEventCount => ({
          eventType: String(row.g0),
          eventName: String(row.g1),
          count: Number(row.events),
          uniqueUsers: Number(row.users),
        }),
      );
    byEvent.sort(
      (a, b) =>
        b.count - a.count ||
        (a.eventType < b.eventType ? -1 : a.eventType > b.eventType ? 1 : 0) ||
        (a.eventName < b.eventName ? -1 : a.eventName > b.eventName ? 1 : 0),
    );
    return {
      totalEvents: Number(total?.events ?? 0),
      uniqueUsers: Number(total?.users ?? 0),
      byEvent,
    };
  });
}

/** One row per bucket of [from, to) in `timezone`, empty buckets included. */
export async function bucketize(
  ctx: RepositoryContext,
  from: Date,
  to: Date,
  unit: 'hour' | 'day' | 'week' | 'month',
  timezone: string,
  filters: AggregateFilters,
): Promise<{ bucketStart: Date; count: number; uniqueUsers: number }[]> {
  if ((to.getTime() - from.getTime()) / UNIT_MS[unit] > MAX_BUCKETS) {
    throw new ValidationError(`invalid time series: more than ${MAX_BUCKETS} buckets`, [
      { path: ['bucket'], message: `more than ${MAX_BUCKETS} buckets in the range`, code: 'too_big' },
    ]);
  }
  return inSnapshot(ctx, async (tx) => {
    const exactHours = await wholeHourOffsets(tx, timezone, from, to);
    const plan = await planAggregate(tx, from, to, !exactHours || filters.userId !== undefined);
    const aggregate = aggregateSql(tx, plan, { kind: 'bucket', unit, timezone }, filters);
    const last = new Date(to.getTime() - 1);
    const buckets =
      unit === 'hour'
        ? sql`select generate_series(date_trunc('hour', ${from}::timestamptz, ${timezone}), ${last}::timestamptz,
            interval '1 hour') as bucket`
        : sql`select (g at time zone ${timezone}) as bucket
            from generate_series(date_trunc(${unit}, ${from}::timestamptz at time zone ${timezone}),
              ${last}::timestamptz at time zone ${timezone}, ${`1 ${unit}`}::interval) g`;
    const { rows } = await sql<{ bucket: Date; events: string; users: string }>`
      with agg as (${aggregate}), b as (${buckets})
      select b.bucket, coalesce(agg.events, 0) as events, coalesce(agg.users, 0) as users
      from b left join agg on agg.g0 = b.bucket order by b.bucket`.execute(tx.db);
    return rows.map((row) => ({
      bucketStart: row.bucket,
      count: Number(row.events),
      uniqueUsers: Number(row.users),
    }));
  });
}
