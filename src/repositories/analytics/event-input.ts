import { z } from 'zod';
import type { ResolvedAnalyticsOptions } from '../../config/analytics-options.js';
import { ValidationError, type ValidationIssue } from '../../errors/errors.js';
import { toValidationIssues } from '../../errors/validation.js';
import { dateProblem } from '../../validation/dates.js';
import { checkJson } from '../../validation/json.js';
import { textProblem } from '../../validation/text.js';
import { fastParseEvent, type ParsedEvent } from './event-fast-path.js';
import { checkSecretKeys, prepareMeasures } from './event-measures.js';

/**
 * One analytics event as a host writes it. `eventType` is a lower-case word (`feature`, `page`),
 * `eventName` a lower-case dotted name (`chat.message_sent`); `data` is a small JSON object
 * (at most `analytics.maxDataBytes` bytes, keys limited by `analytics.allowedEvents` when set).
 *
 * @example
 * ```ts
 * import { AnalyticsEventInputSchema } from 'carebase/schemas';
 * const ok = AnalyticsEventInputSchema.safeParse({ eventType: 'feature', eventName: 'chat.export' }).success;
 * ```
 */
export const AnalyticsEventInputSchema = z.strictObject({
  /** The acting user, if known. Not a foreign key: events may outlive (or predate) the user row. */
  userId: z.uuid().nullable().optional(),
  /** The host's session or visit id (1-128 characters, no control characters). */
  sessionId: z
    .string()
    .min(1)
    .max(128)
    .refine(
      (value) => ![...value].some((char) => (char.codePointAt(0) ?? 0) < 0x20),
      'must not contain control characters',
    )
    .nullable()
    .optional(),
  /** A lower-case word, e.g. `feature`, `page`, `auth`: letters, digits, underscore; at most 64. */
  eventType: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, 'must be a lower-case word (letters, digits, underscore)'),
  /** A lower-case name, e.g. `chat.message_sent`: letters, digits, `_ . : -`; at most 128. */
  eventName: z
    .string()
    .max(128)
    .regex(/^[a-z][a-z0-9_.:-]*$/, 'must be a lower-case name (letters, digits, _ . : -)'),
  /**
   * A JSON object; no PHI (see `analytics.allowedEvents`). Its content is checked by `track` and
   * `trackMany` like every stored JSON value (`checkJson`: no cycles, BigInt, functions, class
   * instances, `__proto__`/`constructor` keys, NUL...), and its size against
   * `analytics.maxDataBytes`; the schema checks the shape only and never copies or strips it.
   */
  data: z
    .custom<Record<string, unknown>>(
      (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
      'must be a JSON object',
    )
    .nullable()
    .optional(),
  /**
   * Named numbers of this event (`{ tokens: 812, costUsd: 0.0041 }`), each declared for the event
   * name in `analytics.measures` as `'integer'` or `'decimal'` (a decimal may also be a string such
   * as `'0.0041'`). Rolled up exactly (count, sum, min, max) with a percentile sketch.
   */
  measures: z
    .record(z.string(), z.union([z.number(), z.string()]))
    .nullable()
    .optional(),
  /** When it happened (1900-9999, at most `analytics.maxFutureMs` ahead). @default now (the configured clock) */
  occurredAt: z.date().optional(),
});

/**
 * An analytics event as a host writes it (`cb.analytics.track`, `trackMany`, `buffer().track`). Validated by `AnalyticsEventInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsEventInput } from 'carebase';
 * const event: AnalyticsEventInput = { userId, eventType: 'feature', eventName: 'chat.message_sent', data: { length: 42 } };
 * await cb.analytics.track(event);
 * ```
 */
export interface AnalyticsEventInput {
  /** A lower-case word, e.g. `feature`, `page`, `auth`: letters, digits, underscore; at most 64. */
  readonly eventType: string;
  /** A lower-case name, e.g. `chat.message_sent`: letters, digits, `_ . : -`; at most 128. */
  readonly eventName: string;
  /** The acting user, if known. Not a foreign key: events may outlive (or predate) the user row. */
  readonly userId?: string | null | undefined;
  /** The host's session or visit id (1-128 characters, no control characters). */
  readonly sessionId?: string | null | undefined;
  /**
   * A JSON object; no PHI (see `analytics.allowedEvents`). Its content is checked by `track` and
   * `trackMany` like every stored JSON value (`checkJson`: no cycles, BigInt, functions, class
   * instances, `__proto__`/`constructor` keys, NUL...), and its size against
   * `analytics.maxDataBytes`; the schema checks the shape only and never copies or strips it.
   */
  readonly data?: Record<string, unknown> | null | undefined;
  /**
   * Named numbers of this event (`{ tokens: 812, costUsd: 0.0041 }`), each declared for the event
   * name in `analytics.measures` as `'integer'` or `'decimal'` (a decimal may also be a string such
   * as `'0.0041'`). Rolled up exactly (count, sum, min, max) with a percentile sketch.
   */
  readonly measures?: Record<string, number | string> | null | undefined;
  /** When it happened (1900-9999, at most `analytics.maxFutureMs` ahead). @default now (the configured clock) */
  readonly occurredAt?: Date | undefined;
}

/**
 * Options of `trackMany`.
 *
 * @example
 * ```ts
 * const { rejected } = await cb.analytics.trackMany(events, { onInvalid: 'skip' });
 * ```
 */
export const TrackManyOptionsSchema = z.strictObject({
  /**
   * `'fail'` (default): one invalid event fails the whole batch with a `ValidationError` whose
   * path starts with the event's index, and nothing is written. `'skip'`: invalid events are left
   * out and reported in the result.
   */
  onInvalid: z.enum(['fail', 'skip']).optional(),
});

/**
 * Options of `cb.analytics.trackMany()`: refuse the whole batch on a bad event (`fail`, the default) or leave bad events out (`skip`). Validated by `TrackManyOptionsSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { TrackManyOptions } from 'carebase';
 * const options: TrackManyOptions = { onInvalid: 'skip' };
 * const { inserted, rejected } = await cb.analytics.trackMany(events, options);
 * ```
 */
export interface TrackManyOptions {
  /**
   * `'fail'` (default): one invalid event fails the whole batch with a `ValidationError` whose
   * path starts with the event's index, and nothing is written. `'skip'`: invalid events are left
   * out and reported in the result.
   */
  readonly onInvalid?: 'fail' | 'skip' | undefined;
}

/** An event after validation, ready to write. `data` is already serialized JSON text. */
export interface PreparedEvent {
  readonly occurredAt: Date;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly eventType: string;
  readonly eventName: string;
  readonly data: string | null;
  /** The measures as JSON text (exact decimals), or null. */
  readonly measures: string | null;
}

/**
 * One refused event: its index in the batch and the problems, without values.
 *
 * @example
 * ```ts
 * import type { RejectedEvent } from 'carebase';
 * const { rejected } = await cb.analytics.trackMany(events, { onInvalid: 'skip' });
 * const describe = (r: RejectedEvent) => `#${r.index}: ${r.issues.map((i) => i.path.join('.')).join(', ')}`;
 * if (rejected.length > 0) logger.warn({ rejected: rejected.map(describe) }, 'analytics events refused');
 * ```
 */
export interface RejectedEvent {
  readonly index: number;
  readonly issues: readonly ValidationIssue[];
}

/**
 * Validates one event against the schema and the instance's limits; returns the prepared event
 * or the issues (paths relative to the event). Same result as {@link prepareEventWithZod} for every
 * input, faster for the common case (see {@link fastParseEvent}).
 */
export function prepareEvent(
  input: unknown,
  options: ResolvedAnalyticsOptions,
  now: Date,
): PreparedEvent | ValidationIssue[] {
  let event: ParsedEvent | undefined;
  try {
    event = fastParseEvent(input);
  } catch {
    return UNREADABLE; // a getter or proxy trap threw while reading the event
  }
  if (event === undefined) return prepareEventWithZod(input, options, now);
  return checkLimits(event, options, now);
}

const UNREADABLE: ValidationIssue[] = [{ path: [], message: 'could not be read', code: 'unreadable' }];

/**
 * The reference for {@link prepareEvent}: the zod schema, then the instance's limits. Used for
 * every event the fast path is not sure about, so error messages and codes come from zod.
 */
export function prepareEventWithZod(
  input: unknown,
  options: ResolvedAnalyticsOptions,
  now: Date,
): PreparedEvent | ValidationIssue[] {
  let parsed: ParsedEvent;
  try {
    const result = AnalyticsEventInputSchema.safeParse(input);
    // zod words some issues from the input (its type): also inside the guard.
    if (!result.success) return toValidationIssues(result.error.issues);
    parsed = result.data;
  } catch {
    return UNREADABLE;
  }
  return checkLimits(parsed, options, now);
}

/** The rules beyond the schema: time, `data` size and text, allow-list. Serializes `data` once. */
function checkLimits(
  event: ParsedEvent,
  options: ResolvedAnalyticsOptions,
  now: Date,
): PreparedEvent | ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const occurredAt = event.occurredAt ?? now;
  const dateIssue = dateProblem(occurredAt);
  if (dateIssue !== undefined) {
    issues.push({ path: ['occurredAt'], message: dateIssue, code: 'invalid_date' });
  } else if (occurredAt.getTime() > now.getTime() + options.maxFutureMs) {
    issues.push({ path: ['occurredAt'], message: 'is too far in the future', code: 'too_big' });
  }
  if (typeof event.sessionId === 'string') {
    const textIssue = textProblem(event.sessionId);
    if (textIssue !== undefined)
      issues.push({ path: ['sessionId'], message: textIssue, code: 'invalid_text' });
  }
  let data: string | null = null;
  let dataKeys: readonly string[] = [];
  if (event.data !== undefined && event.data !== null) {
    const checked = checkJson(event.data, { maxBytes: options.maxDataBytes });
    const json = 'message' in checked ? undefined : JSON.stringify(checked.value);
    if ('message' in checked) {
      issues.push({ path: ['data', ...checked.path], message: checked.message, code: checked.code });
    } else if (json === undefined || Buffer.byteLength(json, 'utf8') > options.maxDataBytes) {
      issues.push({
        path: ['data'],
        message: `must be at most ${options.maxDataBytes} bytes of JSON`,
        code: 'too_big',
      });
    } else {
      data = json;
      dataKeys = Object.keys(checked.value as object);
      checkSecretKeys(checked.value, options, issues);
    }
  }
  const measures =
    event.measures === undefined || event.measures === null
      ? null
      : prepareMeasures(event.eventName, event.measures, options, issues);
  const allowed = options.allowedEvents;
  if (allowed !== undefined) {
    const keys = Object.hasOwn(allowed, event.eventName) ? allowed[event.eventName] : undefined;
    if (keys === undefined) {
      issues.push({ path: ['eventName'], message: 'is not in analytics.allowedEvents', code: 'not_allowed' });
    } else {
      for (const key of dataKeys) {
        if (!keys.includes(key)) {
          issues.push({
            path: ['data', key],
            message: 'is not an allowed data key for this event',
            code: 'not_allowed',
          });
        }
      }
    }
  }
  if (issues.length > 0) return issues;
  return {
    occurredAt,
    userId: event.userId ?? null,
    sessionId: event.sessionId ?? null,
    eventType: event.eventType,
    eventName: event.eventName,
    data,
    measures,
  };
}

/**
 * The `occurredAt` of each input that may pass validation (the clock's `now` when absent, nothing
 * for a missing, invalid or too-future date): the months a batch may write, known before it is
 * validated.
 */
export function* plannedEventDates(
  inputs: readonly unknown[],
  options: ResolvedAnalyticsOptions,
  now: Date,
): Generator<Date> {
  const latest = now.getTime() + options.maxFutureMs;
  let yieldedNow = false;
  for (const input of inputs) {
    if (typeof input !== 'object' || input === null) continue;
    let at: unknown;
    try {
      at = (input as { occurredAt?: unknown }).occurredAt;
    } catch {
      continue; // refused when validated
    }
    if (at === undefined) {
      if (!yieldedNow) yield now;
      yieldedNow = true;
    } else if (at instanceof Date && at.getTime() <= latest && dateProblem(at) === undefined) {
      yield at;
    }
  }
}

/** Throws the {@link ValidationError} for one event's issues, prefixed by `prefix` (e.g. `events.3`). */
export function throwEventIssues(
  issues: readonly ValidationIssue[],
  prefix: readonly (string | number)[],
): never {
  const prefixed = issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] }));
  const first = prefixed[0];
  const where = first === undefined || first.path.length === 0 ? '' : ` at ${first.path.join('.')}`;
  throw new ValidationError(
    `invalid analytics event${where}: ${first?.message ?? 'invalid input'}`,
    prefixed,
  );
}
