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
import { type MeasureRow, measureSql } from './aggregate-measures.js';
import { PERCENTILES, sketchQuantileBins, sketchValue } from './measure-sketch.js';
import type { AnalyticsEventCount, AnalyticsMeasureStats, AnalyticsSummary } from './query-input.js';

const UNIT_MS = { hour: 3_600_000, day: 86_400_000, week: 604_800_000, month: 2_419_200_000 } as const;
/** Most buckets one time series may return. */
const MAX_BUCKETS = 100_000;

/**
 * Runs `fn` in one repeatable-read snapshot (or the caller's transaction), on a read replica when
 * the instance has one in rotation.
 */
function inSnapshot<T>(ctx: RepositoryContext, fn: (tx: RepositoryContext) => Promise<T>): Promise<T> {
  return ctx.onReplica((reader) => reader.atomic(fn, { isolation: 'repeatable read' }));
}

/** Measure statistics per group key (`g0` and `g1` joined by NUL), then per measure name. */
type MeasuresByGroup = Map<string, Record<string, AnalyticsMeasureStats>>;

function groupKey(g0: unknown, g1: unknown): string {
  return `${g0 instanceof Date ? g0.toISOString() : String(g0)}\u0000${String(g1)}`;
}

/**
 * The estimate of quantile `q` over `n` values, like `percentile_cont`: the order statistics at
 * floor and ceil of q * (n - 1) (their bins' representatives, each within the sketch's relative
 * accuracy) interpolated linearly, then kept inside the exact [min, max].
 */
function estimate(
  bins: readonly [number, number] | undefined,
  q: number,
  n: number,
  min: number,
  max: number,
): number {
  if (bins === undefined) return Number.NaN;
  const rank = q * (n - 1);
  const low = sketchValue(bins[0]);
  const high = sketchValue(bins[1]);
  const value = low + (rank - Math.floor(rank)) * (high - low);
  return Math.min(max, Math.max(min, value));
}

function measureStats(rows: readonly MeasureRow[]): MeasuresByGroup {
  const groups: MeasuresByGroup = new Map();
  for (const row of rows) {
    const key = groupKey(row.g0, row.g1);
    let group = groups.get(key);
    if (group === undefined) {
      group = Object.create(null) as Record<string, AnalyticsMeasureStats>;
      groups.set(key, group);
    }
    const min = Number(row.min);
    const max = Number(row.max);
    const stats: AnalyticsMeasureStats = {
      count: Number(row.n),
      sum: Number(row.total),
      sumDecimal: row.total,
      min,
      max,
      ...(row.bins === null || row.counts === null
        ? {}
        : Object.fromEntries(
            PERCENTILES.map(([name, q]) => {
              const bins = sketchQuantileBins(row.bins ?? [], row.counts ?? [], q);
              return [name, estimate(bins, q, Number(row.n), min, max)];
            }),
          )),
    };
    group[row.measure] = stats;
  }
  return groups;
}

/** Options of the measure part of a query. */
export interface MeasureQuery {
  readonly percentiles?: boolean | readonly string[] | undefined;
  /** `false` skips measures (active users). */
  readonly withMeasures?: boolean | undefined;
}

/** Whether the instance declares measures (queries skip the measure aggregation otherwise). */
function hasMeasures(ctx: RepositoryContext): boolean {
  return ctx.config.analytics.measures !== undefined;
}

/** Exact totals and per-event counts (and measures) over [from, to). */
export function summarize(
  ctx: RepositoryContext,
  from: Date,
  to: Date,
  filters: AggregateFilters & MeasureQuery,
): Promise<AnalyticsSummary> {
  return inSnapshot(ctx, async (tx) => {
    const plan = await planAggregate(tx, from, to, filters.userId !== undefined);
    const { rows } = await aggregateSql(tx, plan, { kind: 'event' }, filters).execute(tx.db);
    const measures = hasMeasures(tx)
      ? measureStats(
          (
            await measureSql(tx, plan, { kind: 'event' }, filters, filters.percentiles ?? false).execute(
              tx.db,
            )
          ).rows,
        )
      : undefined;
    const total = rows.find((row) => row.g0 === null);
    const byEvent = rows
      .filter((row) => row.g0 !== null)
      .map((row: AggregateRow): AnalyticsEventCount => {
        const stats = measures?.get(groupKey(row.g0, row.g1));
        return {
          eventType: String(row.g0),
          eventName: String(row.g1),
          count: Number(row.events),
          uniqueUsers: Number(row.users),
          ...(stats === undefined ? {} : { measures: stats }),
        };
      });
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
  filters: AggregateFilters & MeasureQuery,
): Promise<
  {
    bucketStart: Date;
    count: number;
    uniqueUsers: number;
    measures?: Readonly<Record<string, AnalyticsMeasureStats>>;
  }[]
> {
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
    const measures =
      hasMeasures(tx) && filters.withMeasures !== false
        ? measureStats(
            (
              await measureSql(
                tx,
                plan,
                { kind: 'bucket', unit, timezone },
                filters,
                filters.percentiles ?? false,
              ).execute(tx.db)
            ).rows,
          )
        : undefined;
    return rows.map((row) => {
      const stats = measures?.get(groupKey(row.bucket, 0));
      return {
        bucketStart: row.bucket,
        count: Number(row.events),
        uniqueUsers: Number(row.users),
        ...(stats === undefined ? {} : { measures: stats }),
      };
    });
  });
}
