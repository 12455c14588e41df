import { z } from 'zod';

/**
 * The earliest instant carebase accepts: 1900-01-01T00:00:00Z.
 *
 * @example
 * ```ts
 * import { EARLIEST_DATE_MS } from 'carebase';
 * const from = new Date(Math.max(EARLIEST_DATE_MS, Date.parse(req.query.from as string)));
 * ```
 */
export const EARLIEST_DATE_MS = Date.UTC(1900, 0, 1);
/**
 * The latest instant carebase accepts: 9999-12-31T23:59:59.999Z.
 *
 * @example
 * ```ts
 * import { LATEST_DATE_MS } from 'carebase';
 * const to = new Date(Math.min(LATEST_DATE_MS, Date.now() + 86_400_000));
 * ```
 */
export const LATEST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Why `value` cannot be stored as a `timestamptz`, or `undefined` when it can: an Invalid Date,
 * or an instant outside 1900-01-01 to 9999-12-31 (UTC). The range is a part of PostgreSQL's
 * (4714 BC to 294276 AD) that node-postgres writes exactly from any time zone: before 1900 many
 * zones have local-mean-time offsets with seconds, which it truncates (and writes year 1 as BC).
 */
export function dateProblem(value: Date): string | undefined {
  const time = value.getTime();
  if (Number.isNaN(time)) return 'must be a valid date';
  if (time < EARLIEST_DATE_MS || time > LATEST_DATE_MS) {
    return 'must be between 1900-01-01 and 9999-12-31 (UTC)';
  }
  return undefined;
}

/**
 * A `Date` carebase can store and query: valid, between 1900-01-01 and 9999-12-31 (UTC).
 *
 * @example
 * ```ts
 * import { StorableDateSchema } from 'carebase/schemas';
 * StorableDateSchema.safeParse(new Date('+020000-01-01')).success; // false
 * ```
 */
export const StorableDateSchema = z.date().superRefine((value, ctx) => {
  const problem = dateProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, params: { reason: 'date' } });
});
