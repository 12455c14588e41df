import { z } from 'zod';
import { qualifiedName } from '../../sql/identifier.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import {
  AnalyticsBuffer,
  type AnalyticsBufferOptions,
  AnalyticsBufferOptionsSchema,
} from './analytics-buffer.js';
import {
  type AnalyticsRetentionInput,
  AnalyticsRetentionInputSchema,
  type AnalyticsRetentionResult,
  applyRetention,
} from './apply-retention.js';
import { backgroundRefreshOf } from './background-refresh.js';
import { cohortRetention } from './cohort-retention.js';
import {
  type AnalyticsEventInput,
  type PreparedEvent,
  plannedEventDates,
  prepareEvent,
  type RejectedEvent,
  type TrackManyOptions,
  TrackManyOptionsSchema,
  throwEventIssues,
} from './event-input.js';
import { funnel } from './funnel.js';
import {
  type AnalyticsFunnel,
  type AnalyticsFunnelInput,
  AnalyticsFunnelInputSchema,
  type AnalyticsRetentionCohort,
  type AnalyticsRetentionCohortsInput,
  AnalyticsRetentionCohortsInputSchema,
} from './funnel-input.js';
import { bucketize, summarize } from './query-analytics.js';
import {
  type AnalyticsActiveUsersBucket,
  type AnalyticsActiveUsersInput,
  AnalyticsActiveUsersInputSchema,
  type AnalyticsBucket,
  type AnalyticsEventCount,
  type AnalyticsSummary,
  type AnalyticsSummaryInput,
  AnalyticsSummaryInputSchema,
  type AnalyticsTimeseriesInput,
  AnalyticsTimeseriesInputSchema,
  type AnalyticsTopEventsInput,
  AnalyticsTopEventsInputSchema,
} from './query-input.js';
import { type RefreshRollupsResult, refreshRollups } from './refresh-rollups.js';
import { copyPreparingEvents, ensureEventPartitions, writeEvents } from './write-events.js';

/**
 * Result of `trackMany`.
 *
 * @example
 * ```ts
 * import type { TrackManyResult } from 'carebase';
 * // Keep the good events of a client's batch; report the refused ones by index (issues carry no values).
 * const result: TrackManyResult = await cb.analytics.trackMany(events, { onInvalid: 'skip' });
 * res.json({ inserted: result.inserted, rejected: result.rejected.map((r) => r.index) });
 * ```
 */
export interface TrackManyResult {
  /** Events written. */
  readonly inserted: number;
  /** With `onInvalid: 'skip'`: the refused events (index and value-free issues). */
  readonly rejected: readonly RejectedEvent[];
}

const EventsArraySchema = z.array(z.unknown());

/**
 * Analytics events: single and bulk ingest, an optional buffered writer, exact summaries and time
 * series served from hourly rollups plus raw events, and retention by dropping monthly partitions.
 *
 * Every query result is exact (equal to a plain aggregation over raw events): whole rolled-up
 * hours come from rollups, everything else (range edges, hours not rolled up yet, hours changed
 * since) from raw events, all read in one snapshot.
 *
 * @example
 * ```ts
 * await cb.analytics.track({ userId, eventType: 'feature', eventName: 'chat.message_sent' });
 * const s = await cb.analytics.summary({ from: new Date('2026-01-01'), to: new Date('2026-02-01') });
 * console.log(s.totalEvents, s.uniqueUsers, s.byEvent[0]);
 * ```
 */
export class AnalyticsRepository {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.analytics`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Records one event (one named prepared INSERT; creates the month's partition on first use).
   * With `rls: true` it calls the owner's `analytics_track()` instead (migration 0047), one statement.
   *
   * Throws `ValidationError` (nothing written) for a bad event: pattern or length of
   * `eventType`/`eventName`, `data` over `analytics.maxDataBytes`, an `occurredAt` more than
   * `analytics.maxFutureMs` ahead, or a name/key outside `analytics.allowedEvents`.
   * Safe to call concurrently.
   *
   * @example
   * ```ts
   * await cb.analytics.track({ userId, eventType: 'feature', eventName: 'chat.export', data: { format: 'csv' } });
   * ```
   */
  async track(event: AnalyticsEventInput): Promise<void> {
    const ctx = this.#ctx;
    const prepared = prepareEvent(event, ctx.config.analytics, ctx.now());
    if (Array.isArray(prepared)) throwEventIssues(prepared, []);
    await ensureEventPartitions(ctx, [prepared]);
    const schema = ctx.config.schema;
    // Under row-level security through the owner's analytics_track() (migration 0047): one
    // statement, as without it, instead of a transaction carrying the analytics scope.
    const rls = ctx.config.rls;
    const insert = ctx.runtime.prepared.query(
      rls ? 'analytics.track_rls' : 'analytics.track',
      () =>
        rls
          ? `select ${qualifiedName(schema, 'analytics_track')}($1, $2, $3, $4, $5, $6, $7)`
          : `insert into ${qualifiedName(schema, 'analytics_events')} (occurred_at, user_id, session_id, event_type, event_name, data, measures) values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        prepared.occurredAt,
        prepared.userId,
        prepared.sessionId,
        prepared.eventType,
        prepared.eventName,
        prepared.data,
        prepared.measures,
      ],
    );
    await ctx.runPrepared(insert);
  }

  /**
   * Records a batch of any size with the bulk path (COPY outside a transaction, chunked
   * `unnest` inserts inside one, and always with `rls: true`: PostgreSQL refuses COPY into a table
   * under row-level security); atomic: all events or none.
   *
   * Throws `ValidationError` when an event is invalid, its path starting with `events.<index>`
   * (e.g. `events.3.eventName`), and writes nothing; with `{ onInvalid: 'skip' }` invalid events
   * are left out and reported in `rejected` instead. Batches of `analytics.copyThreshold` events or
   * more outside a transaction are validated while their COPY runs (an invalid event aborts it, so
   * only the monthly partitions the batch needs may have been created); smaller batches and
   * batches inside a transaction are validated before any SQL. Safe to call concurrently.
   *
   * @example
   * ```ts
   * const { inserted } = await cb.analytics.trackMany(events);
   * ```
   */
  async trackMany(
    events: readonly AnalyticsEventInput[],
    options: TrackManyOptions = {},
  ): Promise<TrackManyResult> {
    const ctx = this.#ctx;
    const list: readonly unknown[] = Array.isArray(events)
      ? events
      : parseInput(EventsArraySchema, events, 'analytics events');
    const { onInvalid } = parseInput(TrackManyOptionsSchema, options, 'trackMany options');
    const now = ctx.now();
    const config = ctx.config.analytics;
    const rejected: RejectedEvent[] = [];
    // (PostgreSQL refuses COPY FROM into a table under row-level security: `rls: true` inserts.)
    if (!ctx.inTransaction && !ctx.config.rls && list.length >= config.copyThreshold) {
      // Large batch: validated chunk by chunk while the COPY runs; a refusal aborts the COPY.
      const inserted = await copyPreparingEvents(
        ctx,
        list.length,
        plannedEventDates(list, config, now),
        (index) => {
          const result = prepareEvent(list[index], config, now);
          if (!Array.isArray(result)) return result;
          if (onInvalid !== 'skip') throwEventIssues(result, ['events', index]);
          rejected.push({ index, issues: result });
          return undefined;
        },
      );
      return { inserted, rejected };
    }
    const prepared: PreparedEvent[] = [];
    for (let index = 0; index < list.length; index++) {
      const result = prepareEvent(list[index], config, now);
      if (!Array.isArray(result)) prepared.push(result);
      else if (onInvalid === 'skip') rejected.push({ index, issues: result });
      else throwEventIssues(result, ['events', index]);
    }
    await writeEvents(ctx, prepared);
    return { inserted: prepared.length, rejected };
  }

  /**
   * Returns a buffered writer that batches `track` calls (see {@link AnalyticsBuffer}); it writes
   * through the instance's pool, never inside a transaction.
   *
   * Throws `ValidationError` for bad options.
   *
   * @example
   * ```ts
   * const buffer = cb.analytics.buffer({ maxEvents: 1000, maxDelayMs: 1000 });
   * buffer.track({ eventType: 'page', eventName: 'page.view', data: { path: '/' } });
   * await buffer.close();
   * ```
   */
  buffer(options: AnalyticsBufferOptions = {}): AnalyticsBuffer {
    const parsed = parseInput(AnalyticsBufferOptionsSchema, options, 'buffer options');
    const ctx = this.#ctx;
    return new AnalyticsBuffer(ctx.rebind(ctx.runtime.db), parsed);
  }

  /**
   * Exact totals over `[from, to)`: events, distinct users, and per event. Filters by
   * `eventType`, `eventName` and `userId` (a user's summary reads raw events via the user index).
   *
   * Throws `ValidationError` for a bad range. Read-only, one snapshot; safe to call concurrently.
   *
   * @example
   * ```ts
   * const { totalEvents, uniqueUsers, byEvent } = await cb.analytics.summary({ from, to, eventType: 'feature' });
   * ```
   */
  async summary(input: AnalyticsSummaryInput): Promise<AnalyticsSummary> {
    const parsed = parseInput(AnalyticsSummaryInputSchema, input, 'analytics summary');
    const result = await summarize(this.#ctx, parsed.from, parsed.to, parsed);
    this.#maybeRefresh();
    return result;
  }

  /**
   * Events and distinct users per `hour`, `day` or `week` of `[from, to)` in `timezone` (default
   * UTC), including empty buckets. The first bucket starts at the bucket boundary at or before
   * `from`, but only events in `[from, to)` are counted. Exact for any time zone; zones with a
   * non-whole-hour offset are computed from raw events.
   *
   * Throws `ValidationError` for a bad range, time zone, or more than 100,000 buckets.
   *
   * @example
   * ```ts
   * const days = await cb.analytics.timeseries({ from, to, bucket: 'day', timezone: 'America/New_York' });
   * ```
   */
  async timeseries(input: AnalyticsTimeseriesInput): Promise<AnalyticsBucket[]> {
    const parsed = parseInput(AnalyticsTimeseriesInputSchema, input, 'analytics time series');
    const result = await bucketize(
      this.#ctx,
      parsed.from,
      parsed.to,
      parsed.bucket,
      parsed.timezone ?? 'UTC',
      parsed,
    );
    this.#maybeRefresh();
    return result;
  }

  /**
   * Distinct active users per calendar `day` (DAU), `week` (WAU, weeks start on Monday) or `month`
   * (MAU) of `[from, to)` in `timezone`, empty buckets included.
   *
   * Throws `ValidationError` for a bad range or time zone. Read-only; safe to call concurrently.
   *
   * @example
   * ```ts
   * const mau = await cb.analytics.activeUsers({ from, to, bucket: 'month' });
   * ```
   */
  async activeUsers(input: AnalyticsActiveUsersInput): Promise<AnalyticsActiveUsersBucket[]> {
    const parsed = parseInput(AnalyticsActiveUsersInputSchema, input, 'analytics active users');
    const rows = await bucketize(this.#ctx, parsed.from, parsed.to, parsed.bucket, parsed.timezone ?? 'UTC', {
      withMeasures: false,
    });
    this.#maybeRefresh();
    return rows.map((row) => ({ bucketStart: row.bucketStart, activeUsers: row.uniqueUsers }));
  }

  /**
   * The `limit` (default 10) most frequent events of `[from, to)`, with exact distinct users.
   *
   * Throws `ValidationError` for a bad range or limit. Read-only; safe to call concurrently.
   *
   * @example
   * ```ts
   * const top = await cb.analytics.topEvents({ from, to, limit: 5 });
   * ```
   */
  async topEvents(input: AnalyticsTopEventsInput): Promise<AnalyticsEventCount[]> {
    const parsed = parseInput(AnalyticsTopEventsInputSchema, input, 'analytics top events');
    const summary = await summarize(this.#ctx, parsed.from, parsed.to, { eventType: parsed.eventType });
    this.#maybeRefresh();
    return summary.byEvent.slice(0, parsed.limit ?? 10);
  }

  /**
   * Funnel: how many users (or sessions, `by: 'session'`) did `steps` in order. A user reaches
   * step k when they have events of steps 1..k at non-decreasing times (the same instant counts
   * as in order), the first in `[from, to)` and the k-th at most `within` milliseconds after the
   * first (it may fall after `to`). Anonymous events (no user, or no session) are not counted.
   * Exact; read from raw events (one statement, one window pass per step).
   *
   * Throws `ValidationError` for a bad range, fewer than 2 or more than 10 steps, repeated step
   * names, or a window over a year. Read-only; safe to call concurrently.
   *
   * @example
   * ```ts
   * const { steps } = await cb.analytics.funnel({
   *   steps: ['user.login', 'chat.message_sent', 'careplan.view'],
   *   within: 24 * 3_600_000,
   *   from,
   *   to,
   * });
   * console.log(steps.map((s) => `${s.eventName}: ${s.count} (${(s.conversionRate * 100).toFixed(0)}%)`));
   * ```
   */
  async funnel(input: AnalyticsFunnelInput): Promise<AnalyticsFunnel> {
    const parsed = parseInput(AnalyticsFunnelInputSchema, input, 'analytics funnel');
    return this.#ctx.scoped((ctx) => funnel(ctx, parsed));
  }

  /**
   * Cohort retention: users grouped by the `period` (`day` or `week`, in `timezone`) of their
   * first `cohortEvent` in `[from, to)` (or of every one, `cohort: 'recurring'`), and for each
   * cohort how many did `returnEvent` in its own period and in each later period up to the end of
   * the range. Exact; read from raw events of `[from, to)`.
   *
   * Throws `ValidationError` for a bad range (at most 3660 days), event name or time zone.
   * Read-only; safe to call concurrently.
   *
   * @example
   * ```ts
   * const cohorts = await cb.analytics.retention({
   *   cohortEvent: 'user.login',
   *   returnEvent: 'user.login',
   *   period: 'week',
   *   from,
   *   to,
   * });
   * for (const c of cohorts) console.log(c.cohortStart, c.users, c.returned);
   * ```
   */
  async retention(input: AnalyticsRetentionCohortsInput): Promise<AnalyticsRetentionCohort[]> {
    const parsed = parseInput(AnalyticsRetentionCohortsInputSchema, input, 'analytics retention');
    return this.#ctx.scoped((ctx) => cohortRetention(ctx, parsed));
  }

  /**
   * Rolls up every hour closed at least `analytics.rollupSettleMs` ago and recomputes hours changed
   * since they were rolled up. Queries are exact without it; it keeps them fast. Queries also start
   * it in the background every `analytics.autoRefreshIntervalMs`.
   *
   * Concurrency: serialized across processes by an advisory lock; idempotent.
   *
   * @example
   * ```ts
   * setInterval(() => void cb.analytics.refreshRollups(), 10 * 60_000);
   * ```
   */
  async refreshRollups(): Promise<RefreshRollupsResult> {
    return refreshRollups(this.#ctx);
  }

  /**
   * Drops whole monthly partitions of raw events older than `keepMonths` full months before the
   * current (UTC) month, after rolling them up; rollups are kept, so summaries of older ranges stay
   * available. Audited as `analytics.retention`.
   *
   * Throws `ValidationError` for a bad `keepMonths`. Safe to re-run.
   *
   * @example
   * ```ts
   * await cb.analytics.applyRetention({ keepMonths: 13 });
   * ```
   */
  async applyRetention(input: AnalyticsRetentionInput): Promise<AnalyticsRetentionResult> {
    const parsed = parseInput(AnalyticsRetentionInputSchema, input, 'analytics retention');
    return applyRetention(this.#ctx, parsed.keepMonths);
  }

  #maybeRefresh(): void {
    backgroundRefreshOf(this.#ctx.runtime).maybeStart();
  }
}
