import { z } from 'zod';

const eventName = z
  .string()
  .max(128)
  .regex(/^[a-z][a-z0-9_.:-]*$/, 'must be a lower-case name (letters, digits, _ . : -)');

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

function validRange(value: { from: Date; to: Date }): boolean {
  return (
    !Number.isNaN(value.from.getTime()) &&
    !Number.isNaN(value.to.getTime()) &&
    value.from.getTime() < value.to.getTime()
  );
}

const rangeIssue = { message: 'from must be a valid date before to', path: ['to'] };

/** Longest conversion window: one year. */
const MAX_WITHIN_MS = 366 * 86_400_000;

/**
 * Input of `analytics.funnel()`: 2-10 distinct event names in order, a conversion window in
 * milliseconds, and the range `[from, to)` in which the first step happens.
 *
 * @example
 * ```ts
 * import type { AnalyticsFunnelInput } from 'carebase';
 * const input: AnalyticsFunnelInput = {
 *   steps: ['user.login', 'chat.message_sent', 'careplan.view'],
 *   within: 24 * 3_600_000,
 *   from,
 *   to,
 * };
 * ```
 */
export const AnalyticsFunnelInputSchema = z
  .strictObject({
    /** Event names, in order; distinct. */
    steps: z
      .array(eventName)
      .min(2)
      .max(10)
      .refine((steps) => new Set(steps).size === steps.length, 'steps must be distinct event names'),
    /** Conversion window in milliseconds: the last step at most this long after the first. */
    within: z.number().int().positive().max(MAX_WITHIN_MS),
    /** Start of the range of first steps, inclusive. */
    from: z.date(),
    /** End of the range of first steps, exclusive. */
    to: z.date(),
    /** Who goes through the funnel: a user (`userId`) or a session (`sessionId`). @default 'user' */
    by: z.enum(['user', 'session']).optional(),
  })
  .refine(validRange, rangeIssue);

/**
 * Input of `analytics.funnel()`: 2-10 distinct event names in order, a conversion window, and the range of first steps. Validated by `AnalyticsFunnelInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const from: Date, to: Date; -->
 * ```ts
 * import type { AnalyticsFunnelInput } from 'carebase';
 * const input: AnalyticsFunnelInput = { steps: ['user.login', 'chat.message_sent'], within: 3_600_000, from, to };
 * const funnel = await cb.analytics.funnel(input);
 * ```
 */
export interface AnalyticsFunnelInput {
  /** Event names, in order; distinct. */
  readonly steps: string[];
  /** Conversion window in milliseconds: the last step at most this long after the first. */
  readonly within: number;
  /** Start of the range of first steps, inclusive. */
  readonly from: Date;
  /** End of the range of first steps, exclusive. */
  readonly to: Date;
  /** Who goes through the funnel: a user (`userId`) or a session (`sessionId`). @default 'user' */
  readonly by?: 'user' | 'session' | undefined;
}

/**
 * One step of a funnel result.
 *
 * @example
 * ```ts
 * import type { AnalyticsFunnelStep } from 'carebase';
 * const { steps } = await cb.analytics.funnel({ steps: ['user.login', 'chat.message_sent'], within: 3_600_000, from, to });
 * const last: AnalyticsFunnelStep | undefined = steps.at(-1);
 * console.log(`${((last?.conversionRate ?? 0) * 100).toFixed(1)}% converted`);
 * ```
 */
export interface AnalyticsFunnelStep {
  readonly eventName: string;
  /** Users (or sessions) that reached this step. */
  readonly count: number;
  /** `count` / the first step's count (1 for the first step, 0 when nobody entered). */
  readonly conversionRate: number;
  /** `count` / the previous step's count (1 for the first step, 0 when nobody reached the previous). */
  readonly stepConversionRate: number;
}

/**
 * Result of `analytics.funnel()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsFunnel } from 'carebase';
 * const funnel: AnalyticsFunnel = await cb.analytics.funnel({ steps: ['user.login', 'chat.message_sent'], within: 3_600_000, from, to });
 * for (const step of funnel.steps) console.log(step.eventName, step.count);
 * ```
 */
export interface AnalyticsFunnel {
  readonly steps: readonly AnalyticsFunnelStep[];
}

/**
 * Input of `analytics.retention()`: cohorts by the `period` (in `timezone`) of their
 * `cohortEvent`, and for each cohort how many came back with `returnEvent` in each later period.
 *
 * @example
 * ```ts
 * import type { AnalyticsRetentionCohortsInput } from 'carebase';
 * const input: AnalyticsRetentionCohortsInput = {
 *   cohortEvent: 'user.login',
 *   returnEvent: 'chat.message_sent',
 *   period: 'week',
 *   from,
 *   to,
 * };
 * ```
 */
export const AnalyticsRetentionCohortsInputSchema = z
  .strictObject({
    cohortEvent: eventName,
    returnEvent: eventName,
    period: z.enum(['day', 'week']),
    /** Start of the range, inclusive: cohort and return events are both read from `[from, to)`. */
    from: z.date(),
    /** End of the range, exclusive. */
    to: z.date(),
    /**
     * `'first'`: a user belongs to the cohort of the period of their first `cohortEvent` in the
     * range only. `'recurring'`: to the cohort of every period in which they did it.
     * @default 'first'
     */
    cohort: z.enum(['first', 'recurring']).optional(),
    /** IANA time zone of the day and week (Monday) boundaries. @default 'UTC' */
    timezone: timeZone.optional(),
  })
  .refine(validRange, rangeIssue)
  .refine((value) => (value.to.getTime() - value.from.getTime()) / 86_400_000 <= 3660, {
    message: 'the range may span at most 3660 days',
    path: ['to'],
  });

/**
 * Input of `analytics.retention()`: cohorts by the period of `cohortEvent`, and who came back with `returnEvent`. Validated by `AnalyticsRetentionCohortsInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const from: Date, to: Date; -->
 * ```ts
 * import type { AnalyticsRetentionCohortsInput } from 'carebase';
 * const input: AnalyticsRetentionCohortsInput = { cohortEvent: 'user.login', returnEvent: 'chat.message_sent', period: 'week', from, to };
 * const cohorts = await cb.analytics.retention(input);
 * ```
 */
export interface AnalyticsRetentionCohortsInput {
  readonly cohortEvent: string;
  readonly returnEvent: string;
  readonly period: 'day' | 'week';
  /** Start of the range, inclusive: cohort and return events are both read from `[from, to)`. */
  readonly from: Date;
  /** End of the range, exclusive. */
  readonly to: Date;
  /**
   * `'first'`: a user belongs to the cohort of the period of their first `cohortEvent` in the
   * range only. `'recurring'`: to the cohort of every period in which they did it.
   * @default 'first'
   */
  readonly cohort?: 'first' | 'recurring' | undefined;
  /** IANA time zone of the day and week (Monday) boundaries. @default 'UTC' */
  readonly timezone?: string | undefined;
}

/**
 * One cohort of `analytics.retention()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsRetentionCohort } from 'carebase';
 * const cohorts: AnalyticsRetentionCohort[] = await cb.analytics.retention({
 *   cohortEvent: 'user.login', returnEvent: 'user.login', period: 'week', from, to,
 * });
 * const week1 = cohorts.map((c) => (c.users === 0 ? 0 : (c.returned[1] ?? 0) / c.users));
 * ```
 */
export interface AnalyticsRetentionCohort {
  /** Start of the cohort's period (local midnight; weeks start on Monday). */
  readonly cohortStart: Date;
  /** Users in the cohort. */
  readonly users: number;
  /**
   * `returned[i]`: users of the cohort with a `returnEvent` in the i-th period after the cohort's
   * (0 = the cohort's own period), for every period up to the one containing the end of the range.
   */
  readonly returned: readonly number[];
}
