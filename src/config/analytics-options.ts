import { z } from 'zod';

/**
 * Options of the analytics events store.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({
 *   analytics: {
 *     maxDataBytes: 4096,
 *     // Only these events, with only these `data` keys, are accepted (no free text, no PHI):
 *     allowedEvents: { 'chat.message_sent': ['model', 'tokens'], 'page.view': ['path'] },
 *   },
 * });
 * ```
 */
export const AnalyticsOptionsSchema = z
  .strictObject({
    /** Largest accepted `data` payload per event, in bytes of JSON. @default 8192 */
    maxDataBytes: z.number().int().positive().default(8192),
    /**
     * How far in the future (relative to the configured clock) an event's `occurredAt` may lie.
     * @default 86400000 (one day)
     */
    maxFutureMs: z.number().int().nonnegative().default(86_400_000),
    /**
     * An allow-list: event name -> the `data` keys it may carry. When set, events whose name is not
     * listed, and events with a `data` key not listed for their name, are refused with a
     * `ValidationError` (never silently stripped), so PHI cannot leak into analytics by accident.
     * @default undefined (any event name, any data keys)
     */
    allowedEvents: z.record(z.string(), z.array(z.string()).readonly()).optional(),
    /**
     * Numeric measures per event name: measure name (a letter, then letters, digits or `_`, at
     * most 64) -> `'integer'` (a safe integer) or `'decimal'` (a number or a decimal string such as
     * `'0.0041'`, up to 15 digits before and 12 after the point; money). Events may carry only the
     * measures declared for their name (others are refused with a `ValidationError`); rollups keep
     * count, exact sum, min, max and a percentile sketch of each.
     * @default undefined (no event may carry measures)
     */
    measures: z
      .record(
        z.string(),
        z.record(
          z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a letter, then letters, digits or _'),
          z.enum(['integer', 'decimal']),
        ),
      )
      .optional(),
    /**
     * Keys refused in `data` (case-insensitive, at any depth): secrets must not reach analytics.
     * An event whose `data` holds one is refused with a `ValidationError` naming the key's path.
     * @default the audit redaction list (`audit.redactKeys`: password, token, secret, ssn, ...)
     */
    secretDataKeys: z.array(z.string().min(1)).optional(),
    /**
     * Hours are rolled up once they closed at least this long ago, so writers still in flight for
     * an hour that just ended are not raced. @default 600000 (10 minutes)
     */
    rollupSettleMs: z.number().int().nonnegative().default(600_000),
    /**
     * Queries start a background `refreshRollups()` when the last refresh is older than this;
     * `0` turns automatic refresh off. Results are exact either way (the unrolled part is read from
     * raw events); refreshing keeps that part small. Also the interval of the background
     * `cb.chat.refreshUsageRollups()` that `cb.chat.usage()` starts. @default 900000 (15 minutes)
     */
    autoRefreshIntervalMs: z.number().int().nonnegative().default(900_000),
    /**
     * `refreshRollups()` rolls up at most this many new hours per transaction (and
     * `cb.chat.refreshUsageRollups()` this many hours in whole days, at least one; a backlog is worked
     * off in several), so no statement grows with the backlog; lower it when a week of events takes
     * longer than the pool's statement timeout to aggregate. @default 168 (one week)
     */
    refreshChunkHours: z.number().int().min(1).max(8784).default(168),
    /**
     * Batches of at least this many events are written with COPY (outside a transaction);
     * smaller batches, and every batch inside `cb.transaction()`, use one `INSERT ... SELECT FROM
     * unnest(...)` per chunk. @default 500
     */
    copyThreshold: z.number().int().positive().default(500),
  })
  .prefault({});

/**
 * Analytics options as a host writes them.
 *
 * @example
 * ```ts
 * import { type AnalyticsOptions, createCarebase } from 'carebase';
 * const analytics: AnalyticsOptions = {
 *   allowedEvents: { 'chat.message_sent': ['model', 'tokens'], 'search.run': ['results'] },
 *   autoRefreshIntervalMs: 0, // a worker calls cb.analytics.refreshRollups() on a timer instead
 * };
 * const cb = createCarebase({ analytics });
 * ```
 */
export interface AnalyticsOptions {
  /** Largest accepted `data` payload per event, in bytes of JSON. @default 8192 */
  readonly maxDataBytes?: number | undefined;
  /**
   * How far in the future (relative to the configured clock) an event's `occurredAt` may lie.
   * @default 86400000 (one day)
   */
  readonly maxFutureMs?: number | undefined;
  /**
   * An allow-list: event name -> the `data` keys it may carry. When set, events whose name is not
   * listed, and events with a `data` key not listed for their name, are refused with a
   * `ValidationError` (never silently stripped), so PHI cannot leak into analytics by accident.
   * @default undefined (any event name, any data keys)
   */
  readonly allowedEvents?: Record<string, readonly string[]> | undefined;
  /**
   * Numeric measures per event name: measure name (a letter, then letters, digits or `_`, at
   * most 64) -> `'integer'` or `'decimal'` (money). Events may carry only the measures declared
   * for their name; rollups keep count, exact sum, min, max and a percentile sketch of each.
   * @default undefined (no event may carry measures)
   */
  readonly measures?: Record<string, Record<string, 'integer' | 'decimal'>> | undefined;
  /**
   * Keys refused in `data` (case-insensitive, at any depth): secrets must not reach analytics.
   * @default the audit redaction list (`audit.redactKeys`)
   */
  readonly secretDataKeys?: string[] | undefined;
  /**
   * Hours are rolled up once they closed at least this long ago, so writers still in flight for
   * an hour that just ended are not raced. Also applies to the UTC days of the chat usage rollups
   * (`cb.chat.refreshUsageRollups()`). @default 600000 (10 minutes)
   */
  readonly rollupSettleMs?: number | undefined;
  /**
   * Queries start a background `refreshRollups()` when the last refresh is older than this;
   * `0` turns automatic refresh off. Results are exact either way (the unrolled part is read from
   * raw events); refreshing keeps that part small. Also the interval of the background
   * `cb.chat.refreshUsageRollups()` that `cb.chat.usage()` starts. @default 900000 (15 minutes)
   */
  readonly autoRefreshIntervalMs?: number | undefined;
  /**
   * `refreshRollups()` rolls up at most this many new hours per transaction (and
   * `cb.chat.refreshUsageRollups()` this many hours in whole days, at least one; a backlog is worked
   * off in several), so no statement grows with the backlog; lower it when a week of events takes
   * longer than the pool's statement timeout to aggregate. @default 168 (one week)
   */
  readonly refreshChunkHours?: number | undefined;
  /**
   * Batches of at least this many events are written with COPY (outside a transaction);
   * smaller batches, and every batch inside `cb.transaction()`, use one `INSERT ... SELECT FROM
   * unnest(...)` per chunk. @default 500
   */
  readonly copyThreshold?: number | undefined;
}
/**
 * Analytics options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedAnalyticsOptions } from 'carebase';
 * const { maxDataBytes }: ResolvedAnalyticsOptions = cb.config.analytics;
 * const data = { model: 'gpt-4o', tokens: 512 };
 * if (Buffer.byteLength(JSON.stringify(data)) <= maxDataBytes) {
 *   await cb.analytics.track({ userId, eventType: 'chat', eventName: 'chat.message_sent', data });
 * }
 * ```
 */
export interface ResolvedAnalyticsOptions {
  /** Largest accepted `data` payload per event, in bytes of JSON. @default 8192 */
  readonly maxDataBytes: number;
  /**
   * How far in the future (relative to the configured clock) an event's `occurredAt` may lie.
   * @default 86400000 (one day)
   */
  readonly maxFutureMs: number;
  /**
   * Hours are rolled up once they closed at least this long ago, so writers still in flight for
   * an hour that just ended are not raced. Also applies to the UTC days of the chat usage rollups
   * (`cb.chat.refreshUsageRollups()`). @default 600000 (10 minutes)
   */
  readonly rollupSettleMs: number;
  /**
   * Queries start a background `refreshRollups()` when the last refresh is older than this;
   * `0` turns automatic refresh off. Results are exact either way (the unrolled part is read from
   * raw events); refreshing keeps that part small. Also the interval of the background
   * `cb.chat.refreshUsageRollups()` that `cb.chat.usage()` starts. @default 900000 (15 minutes)
   */
  readonly autoRefreshIntervalMs: number;
  /**
   * `refreshRollups()` rolls up at most this many new hours per transaction (and
   * `cb.chat.refreshUsageRollups()` this many hours in whole days, at least one; a backlog is worked
   * off in several), so no statement grows with the backlog; lower it when a week of events takes
   * longer than the pool's statement timeout to aggregate. @default 168 (one week)
   */
  readonly refreshChunkHours: number;
  /**
   * Batches of at least this many events are written with COPY (outside a transaction);
   * smaller batches, and every batch inside `cb.transaction()`, use one `INSERT ... SELECT FROM
   * unnest(...)` per chunk. @default 500
   */
  readonly copyThreshold: number;
  /**
   * An allow-list: event name -> the `data` keys it may carry. When set, events whose name is not
   * listed, and events with a `data` key not listed for their name, are refused with a
   * `ValidationError` (never silently stripped), so PHI cannot leak into analytics by accident.
   * @default undefined (any event name, any data keys)
   */
  readonly allowedEvents?: Record<string, readonly string[]> | undefined;
  /**
   * Numeric measures per event name: measure name (a letter, then letters, digits or `_`, at
   * most 64) -> `'integer'` or `'decimal'` (money). Events may carry only the measures declared
   * for their name; rollups keep count, exact sum, min, max and a percentile sketch of each.
   * @default undefined (no event may carry measures)
   */
  readonly measures?: Record<string, Record<string, 'integer' | 'decimal'>> | undefined;
  /**
   * Keys refused in `data` (case-insensitive, at any depth): secrets must not reach analytics.
   * @default the audit redaction list (`audit.redactKeys`)
   */
  readonly secretDataKeys?: string[] | undefined;
}
