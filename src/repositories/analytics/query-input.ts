import { z } from 'zod';

const timeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((value) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone name such as Europe/Berlin');

const range = {
  /** Start of the range, inclusive. */
  from: z.date(),
  /** End of the range, exclusive. */
  to: z.date(),
};

function validRange(value: { from: Date; to: Date }): boolean {
  return (
    !Number.isNaN(value.from.getTime()) &&
    !Number.isNaN(value.to.getTime()) &&
    value.from.getTime() < value.to.getTime()
  );
}

const rangeIssue = { message: 'from must be a valid date before to', path: ['to'] };

/**
 * Input of `analytics.summary()`: a half-open range `[from, to)` and optional filters.
 *
 * @example
 * ```ts
 * import type { AnalyticsSummaryInput } from 'carebase';
 * const input: AnalyticsSummaryInput = { from: new Date('2026-01-01'), to: new Date('2026-02-01'), eventType: 'feature' };
 * ```
 */
export const AnalyticsSummaryInputSchema = z
  .strictObject({
    ...range,
    eventType: z.string().min(1).max(64).optional(),
    eventName: z.string().min(1).max(128).optional(),
    /** Only this user's events (read from raw events through the user index). */
    userId: z.uuid().optional(),
    /**
     * Also compute p50/p90/p95/p99 (from the rollups' sketches): `true` for every measure, or the
     * names of the measures that need them (cheaper). @default false
     */
    percentiles: z.union([z.boolean(), z.array(z.string().min(1).max(64)).max(64).readonly()]).optional(),
  })
  .refine(validRange, rangeIssue);

/**
 * Input of `cb.analytics.summary()`: the range `[from, to)` and optional filters. Validated by `AnalyticsSummaryInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsSummaryInput } from 'carebase';
 * const input: AnalyticsSummaryInput = { from, to, eventType: 'feature' };
 * const { totalEvents, uniqueUsers } = await cb.analytics.summary(input);
 * ```
 */
export interface AnalyticsSummaryInput {
  readonly from: Date;
  readonly to: Date;
  readonly eventType?: string | undefined;
  readonly eventName?: string | undefined;
  /** Only this user's events (read from raw events through the user index). */
  readonly userId?: string | undefined;
  /**
   * Also compute p50/p90/p95/p99 (from the rollups' sketches): `true` for every measure, or the
   * names of the measures that need them (cheaper). @default false
   */
  readonly percentiles?: boolean | readonly string[] | undefined;
}

/**
 * Input of `analytics.timeseries()`: buckets in `timezone` (default UTC), empty ones included.
 *
 * @example
 * ```ts
 * import type { AnalyticsTimeseriesInput } from 'carebase';
 * const input: AnalyticsTimeseriesInput = { from, to, bucket: 'day', timezone: 'America/New_York' };
 * ```
 */
export const AnalyticsTimeseriesInputSchema = z
  .strictObject({
    ...range,
    bucket: z.enum(['hour', 'day', 'week']),
    eventType: z.string().min(1).max(64).optional(),
    eventName: z.string().min(1).max(128).optional(),
    /** IANA time zone of the day and week boundaries. @default 'UTC' */
    timezone: timeZone.optional(),
    /**
     * Also compute p50/p90/p95/p99 (from the rollups' sketches): `true` for every measure, or the
     * names of the measures that need them (cheaper). @default false
     */
    percentiles: z.union([z.boolean(), z.array(z.string().min(1).max(64)).max(64).readonly()]).optional(),
  })
  .refine(validRange, rangeIssue);

/**
 * Input of `cb.analytics.timeseries()`: counts per hour, day or week. Validated by `AnalyticsTimeseriesInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsTimeseriesInput } from 'carebase';
 * const input: AnalyticsTimeseriesInput = { from, to, bucket: 'day', eventName: 'chat.message_sent' };
 * const series = await cb.analytics.timeseries(input);
 * ```
 */
export interface AnalyticsTimeseriesInput {
  readonly bucket: 'hour' | 'day' | 'week';
  readonly from: Date;
  readonly to: Date;
  readonly eventType?: string | undefined;
  readonly eventName?: string | undefined;
  /** IANA time zone of the day and week boundaries. @default 'UTC' */
  readonly timezone?: string | undefined;
  /**
   * Also compute p50/p90/p95/p99 (from the rollups' sketches): `true` for every measure, or the
   * names of the measures that need them (cheaper). @default false
   */
  readonly percentiles?: boolean | readonly string[] | undefined;
}

/**
 * Input of `analytics.activeUsers()`: distinct users per calendar day (DAU), week (WAU) or month (MAU).
 *
 * @example
 * ```ts
 * import { AnalyticsActiveUsersInput } from 'carebase';
 * const input: AnalyticsActiveUsersInput = { from, to, bucket: 'month', timezone: 'Europe/Berlin' };
 * ```
 */
export const AnalyticsActiveUsersInputSchema = z
  .strictObject({
    ...range,
    bucket: z.enum(['day', 'week', 'month']),
    /** IANA time zone of the calendar boundaries. @default 'UTC' */
    timezone: timeZone.optional(),
  })
  .refine(validRange, rangeIssue);

/**
 * Input of `cb.analytics.activeUsers()`: distinct users per day, week or month. Validated by `AnalyticsActiveUsersInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsActiveUsersInput } from 'carebase';
 * const input: AnalyticsActiveUsersInput = { from, to, bucket: 'week', timezone: 'Europe/Berlin' };
 * const weekly = await cb.analytics.activeUsers(input);
 * ```
 */
export interface AnalyticsActiveUsersInput {
  readonly bucket: 'day' | 'week' | 'month';
  readonly from: Date;
  readonly to: Date;
  /** IANA time zone of the calendar boundaries. @default 'UTC' */
  readonly timezone?: string | undefined;
}

/**
 * Input of `analytics.topEvents()`.
 *
 * @example
 * ```ts
 * import { AnalyticsTopEventsInput } from 'carebase';
 * const input: AnalyticsTopEventsInput = { from, to, limit: 5 };
 * ```
 */
export const AnalyticsTopEventsInputSchema = z
  .strictObject({
    ...range,
    /** @default 10 */
    limit: z.number().int().min(1).max(1000).optional(),
    eventType: z.string().min(1).max(64).optional(),
  })
  .refine(validRange, rangeIssue);

/**
 * Input of `cb.analytics.topEvents()`: the most frequent events of a range. Validated by `AnalyticsTopEventsInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsTopEventsInput } from 'carebase';
 * const input: AnalyticsTopEventsInput = { from, to, limit: 10 };
 * const top = await cb.analytics.topEvents(input);
 * ```
 */
export interface AnalyticsTopEventsInput {
  readonly from: Date;
  readonly to: Date;
  /** @default 10 */
  readonly limit?: number | undefined;
  readonly eventType?: string | undefined;
}

/**
 * Counts of one event in a summary.
 *
 * @example
 * ```ts
 * import type { AnalyticsEventCount } from 'carebase';
 * const top: AnalyticsEventCount[] = await cb.analytics.topEvents({ from, to, limit: 5 });
 * for (const e of top) console.log(`${e.eventName}: ${e.count} events by ${e.uniqueUsers} users`);
 * ```
 */
export interface AnalyticsEventCount {
  readonly eventType: string;
  readonly eventName: string;
  readonly count: number;
  readonly uniqueUsers: number;
  /** Per measure (see `analytics.measures`), when the event's events in the range carry any. */
  readonly measures?: Readonly<Record<string, AnalyticsMeasureStats>>;
}

/**
 * Statistics of one numeric measure over a group of events: exact count, sum, min and max; with
 * `percentiles: true`, p50/p90/p95/p99 from the DDSketch kept in the rollups (within 1% of the
 * exact order statistic, relative, and never outside [min, max]).
 *
 * @example
 * ```ts
 * import type { AnalyticsMeasureStats } from 'carebase';
 * const days = await cb.analytics.timeseries({ from, to, bucket: 'day', eventName: 'chat.answer', percentiles: true });
 * const latency: (AnalyticsMeasureStats | undefined)[] = days.map((d) => d.measures?.latencyMs);
 * console.log(latency.map((m) => m?.p95));
 * ```
 */
export interface AnalyticsMeasureStats {
  /** Events carrying the measure. */
  readonly count: number;
  /** The exact sum as a number (rounded to the nearest double; see `sumDecimal`). */
  readonly sum: number;
  /** The exact sum as a decimal string (PostgreSQL numeric), e.g. `'4.1000'`: use it for money. */
  readonly sumDecimal: string;
  readonly min: number;
  readonly max: number;
  readonly p50?: number;
  readonly p90?: number;
  readonly p95?: number;
  readonly p99?: number;
}

/**
 * Result of `analytics.summary()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsSummary } from 'carebase';
 * const summary: AnalyticsSummary = await cb.analytics.summary({ from, to });
 * console.log(
 *   `${summary.totalEvents} events, ${summary.uniqueUsers} users; top: ${summary.byEvent[0]?.eventName}`,
 * );
 * ```
 */
export interface AnalyticsSummary {
  readonly totalEvents: number;
  readonly uniqueUsers: number;
  /** Per event, most frequent first (ties by type, then name). */
  readonly byEvent: readonly AnalyticsEventCount[];
}

/**
 * One bucket of `analytics.timeseries()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsBucket } from 'carebase';
 * const days: AnalyticsBucket[] = await cb.analytics.timeseries({
 *   from,
 *   to,
 *   bucket: 'day',
 *   timezone: 'Europe/Berlin',
 * });
 * const chart = days.map((d) => ({ x: d.bucketStart.toISOString(), y: d.count, users: d.uniqueUsers }));
 * ```
 */
export interface AnalyticsBucket {
  /** Start of the bucket (local midnight in the time zone for day and week buckets). */
  readonly bucketStart: Date;
  readonly count: number;
  readonly uniqueUsers: number;
  /** Per measure, when events in the bucket carry any (see {@link AnalyticsMeasureStats}). */
  readonly measures?: Readonly<Record<string, AnalyticsMeasureStats>>;
}

/**
 * One bucket of `analytics.activeUsers()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsActiveUsersBucket } from 'carebase';
 * const months: AnalyticsActiveUsersBucket[] = await cb.analytics.activeUsers({ from, to, bucket: 'month' });
 * for (const m of months)
 *   console.log(`${m.bucketStart.toISOString().slice(0, 7)}: ${m.activeUsers} monthly active users`);
 * ```
 */
export interface AnalyticsActiveUsersBucket {
  readonly bucketStart: Date;
  /** Distinct users with at least one event in the bucket. */
  readonly activeUsers: number;
}
