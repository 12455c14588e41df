import { type RawBuilder, sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import { lockRefreshStep, serializedRefresh } from '../rollup-refresh.js';
import { sketchBinSql } from './measure-sketch.js';

const HOUR_MS = 3_600_000;

/**
 * What one `refreshRollups()` did.
 *
 * @example
 * ```ts
 * import type { RefreshRollupsResult } from 'carebase';
 * // A worker refreshing rollups itself (with `analytics.autoRefreshIntervalMs: 0`).
 * const { rolledUpTo, hoursRefreshed }: RefreshRollupsResult = await cb.analytics.refreshRollups();
 * logger.info({ rolledUpTo, hoursRefreshed }, 'analytics rollups refreshed');
 * ```
 */
export interface RefreshRollupsResult {
  /** Every hour before this instant is now rolled up (or marked dirty until the next refresh). */
  readonly rolledUpTo: Date;
  /** How many hours were (re)computed from raw events. */
  readonly hoursRefreshed: number;
}

/** The rollup state row, with `-infinity` read as `undefined`. */
export interface RollupState {
  readonly rolledUpTo: Date | undefined;
  readonly rawRetainedFrom: Date | undefined;
  readonly refreshedAt: Date | undefined;
}

/** Reads the rollup state (one row). */
export async function readRollupState(ctx: RepositoryContext): Promise<RollupState> {
  const table = sql.id(ctx.config.schema, 'analytics_rollup_state');
  const { rows } = await sql<{
    rolled_up_to: Date | null;
    raw_retained_from: Date | null;
    refreshed_at: Date | null;
  }>`
    select nullif(rolled_up_to, '-infinity') as rolled_up_to,
           nullif(raw_retained_from, '-infinity') as raw_retained_from, refreshed_at
    from ${table}`.execute(ctx.db);
  const row = rows[0];
  return {
    rolledUpTo: row?.rolled_up_to ?? undefined,
    rawRetainedFrom: row?.raw_retained_from ?? undefined,
    refreshedAt: row?.refreshed_at ?? undefined,
  };
}

/** Merges sorted, hour-aligned instants into half-open [start, end) ranges. */
function hourRanges(hours: readonly Date[]): { starts: Date[]; ends: Date[] } {
  const starts: Date[] = [];
  const ends: Date[] = [];
  for (const hour of [...hours].sort((a, b) => a.getTime() - b.getTime())) {
    const last = ends[ends.length - 1];
    if (last !== undefined && last.getTime() === hour.getTime()) {
      ends[ends.length - 1] = new Date(hour.getTime() + HOUR_MS);
    } else {
      starts.push(hour);
      ends.push(new Date(hour.getTime() + HOUR_MS));
    }
  }
  return { starts, ends };
}

/**
 * Rolls up every closed hour not rolled up yet (up to `now - rollupSettleMs`, whole hours), and
 * recomputes the dirty hours (closed hours whose raw events changed since), in one repeatable-read
 * transaction serialized by an advisory lock. Hours whose raw partition was dropped by retention
 * keep their rollups as they are.
 */
export async function refreshRollups(ctx: RepositoryContext): Promise<RefreshRollupsResult> {
  const target = new Date(
    Math.floor((ctx.now().getTime() - ctx.config.analytics.rollupSettleMs) / HOUR_MS) * HOUR_MS,
  );
  const run = async (on: RepositoryContext): Promise<RefreshRollupsResult> => {
    let hoursRefreshed = 0;
    for (;;) {
      const step = await refreshStep(on, target);
      hoursRefreshed += step.hoursRefreshed;
      if (step.rolledUpTo.getTime() >= target.getTime())
        return { rolledUpTo: step.rolledUpTo, hoursRefreshed };
    }
  };
  return serializedRefresh(ctx, refreshLockKey(ctx), run);
}

function refreshLockKey(ctx: RepositoryContext): string {
  return `${ctx.config.schema}.analytics.refresh`;
}

/**
 * One transaction of {@link refreshRollups}: the dirty hours, then at most
 * `analytics.refreshChunkHours` new hours, so no statement grows with the backlog (and the pool's
 * statement timeout holds).
 */
async function refreshStep(ctx: RepositoryContext, target: Date): Promise<RefreshRollupsResult> {
  const schema = ctx.config.schema;
  const id = (name: string) => sql.id(schema, name);
  const ownTransaction = !ctx.db.isTransaction;
  return ctx.atomic(
    async (tx) => {
      await lockRefreshStep(tx, refreshLockKey(ctx), ownTransaction);
      const state = await readRollupState(tx);
      const from = state.rolledUpTo;
      const retainedFrom = state.rawRetainedFrom?.getTime() ?? Number.NEGATIVE_INFINITY;
      let newStart: Date | undefined = from;
      if (newStart === undefined) {
        const { rows } = await sql<{ first: Date | null }>`
          select date_trunc('hour', min(occurred_at), 'UTC') as first from ${id('analytics_events')}
          where occurred_at < ${target}`.execute(tx.db);
        newStart = rows[0]?.first ?? undefined;
      }
      let upTo = from === undefined || target.getTime() > from.getTime() ? target : from;
      if (newStart !== undefined && newStart.getTime() < upTo.getTime()) {
        newStart = new Date(Math.max(newStart.getTime(), retainedFrom));
        const chunkMs = ctx.config.analytics.refreshChunkHours * HOUR_MS;
        upTo = new Date(Math.min(upTo.getTime(), newStart.getTime() + chunkMs));
      }
      const dirty = await sql<{ hour: Date }>`
        delete from ${id('analytics_rollup_dirty')} where hour < ${upTo} returning hour`.execute(tx.db);
      const hours = dirty.rows
        .map((row) => row.hour)
        // Dirty hours at or after the old watermark are part of the new range below.
        .filter(
          (hour) => hour.getTime() >= retainedFrom && from !== undefined && hour.getTime() < from.getTime(),
        );
      const { starts, ends } = hourRanges(hours);
      if (newStart !== undefined && newStart.getTime() < upTo.getTime()) {
        starts.push(newStart);
        ends.push(upTo);
      }
      let refreshed = 0;
      for (let i = 0; i < starts.length; i++) {
        refreshed += ((ends[i] as Date).getTime() - (starts[i] as Date).getTime()) / HOUR_MS;
      }
      if (starts.length > 0) {
        const ranges = sql`unnest(${starts.map((d) => d.toISOString())}::timestamptz[], ${ends.map((d) =>
          d.toISOString(),
        )}::timestamptz[]) as r(s, e)`;
        await sql`delete from ${id('analytics_rollup_hourly')} h using ${ranges}
          where h.hour >= r.s and h.hour < r.e`.execute(tx.db);
        await sql`delete from ${id('analytics_rollup_hourly_users')} h using ${ranges}
          where h.hour >= r.s and h.hour < r.e`.execute(tx.db);
        await sql`delete from ${id('analytics_rollup_hourly_measures')} h using ${ranges}
          where h.hour >= r.s and h.hour < r.e`.execute(tx.db);
        await sql`delete from ${id('analytics_rollup_hourly_sketch')} h using ${ranges}
          where h.hour >= r.s and h.hour < r.e`.execute(tx.db);
        await sql`create temporary table analytics_refresh_events on commit drop as
          select e.occurred_at, e.user_id, e.event_type, e.event_name, e.measures
          from ${ranges} join ${id('analytics_events')} e on e.occurred_at >= r.s and e.occurred_at < r.e`.execute(
          tx.db,
        );
        await sql`insert into ${id('analytics_user_keys')} (user_id)
          select distinct user_id from analytics_refresh_events where user_id is not null
          on conflict (user_id) do nothing`.execute(tx.db);
        await sql`insert into ${id('analytics_rollup_hourly')} (hour, event_type, event_name, events)
          select date_trunc('hour', occurred_at, 'UTC'), event_type, event_name, count(*)
          from analytics_refresh_events group by 1, 2, 3`.execute(tx.db);
        // Distinct users: first OR single bits into 64-bit words (cheap bigint aggregation), then
        // place each word at its offset in the 1024-bit segment and OR the words together.
        await sql`insert into ${id('analytics_rollup_hourly_users')} (hour, event_type, event_name, segment, users)
          select hour, event_type, event_name, segment,
                 bit_or((bits::bit(64) || repeat('0', 960)::bit(960)) >> (word * 64))
          from (
            select date_trunc('hour', e.occurred_at, 'UTC') as hour, e.event_type, e.event_name,
                   k.user_key / 1024 as segment, (k.user_key % 1024) / 64 as word,
                   bit_or(1::bigint << (63 - k.user_key % 64)) as bits
            from analytics_refresh_events e join ${id('analytics_user_keys')} k on k.user_id = e.user_id
            group by 1, 2, 3, 4, 5
          ) words
          group by 1, 2, 3, 4`.execute(tx.db);
        await rollUpMeasures(tx, ranges);
        await sql`drop table analytics_refresh_events`.execute(tx.db);
      }
      // Even with no events yet the watermark advances: later inserts before it are marked dirty.
      await sql`update ${id('analytics_rollup_state')}
        set rolled_up_to = ${upTo}, refreshed_at = ${ctx.now()}`.execute(tx.db);
      return { rolledUpTo: upTo, hoursRefreshed: refreshed };
    },
    { isolation: 'repeatable read' },
  );
}

/**
 * Rolls up the measures of the events in `analytics_refresh_events`: count, exact numeric sum, min
 * and max per hour, event and measure, and the DDSketch bins of their values (see measure-sketch.ts).
 */
async function rollUpMeasures(ctx: RepositoryContext, ranges: RawBuilder<unknown>): Promise<void> {
  const id = (name: string) => sql.id(ctx.config.schema, name);
  await sql`create temporary table analytics_refresh_measures on commit drop as
    select date_trunc('hour', e.occurred_at, 'UTC') as hour, e.event_type, e.event_name, m.key as measure,
           (m.value #>> '{}')::numeric as v
    from analytics_refresh_events e cross join lateral jsonb_each(e.measures) m
    where e.measures is not null`.execute(ctx.db);
  await sql`insert into ${id('analytics_rollup_hourly_measures')} (hour, event_type, event_name, measure, n, total, min, max)
    select hour, event_type, event_name, measure, count(*), sum(v), min(v), max(v)
    from analytics_refresh_measures group by 1, 2, 3, 4`.execute(ctx.db);
  await sql`insert into ${id('analytics_rollup_hourly_sketch')} (hour, event_type, event_name, measure, bin, n)
    select hour, event_type, event_name, measure, ${sketchBinSql(sql`v`)}, count(*)
    from analytics_refresh_measures group by 1, 2, 3, 4, 5`.execute(ctx.db);
  await sql`drop table analytics_refresh_measures`.execute(ctx.db);
  // The UTC days these hours belong to, summed again from the hourly sketches (UTC days are 24 h).
  await sql`create temporary table analytics_refresh_days on commit drop as
    select distinct date_trunc('day', h, 'UTC') as day
    from ${ranges} cross join lateral generate_series(r.s, r.e - interval '1 hour', interval '1 hour') h`.execute(
    ctx.db,
  );
  await sql`delete from ${id('analytics_rollup_daily_sketch')} s using analytics_refresh_days d
    where s.day = d.day`.execute(ctx.db);
  await sql`insert into ${id('analytics_rollup_daily_sketch')} (day, event_type, event_name, measure, bin, n)
    select d.day, h.event_type, h.event_name, h.measure, h.bin, sum(h.n)
    from analytics_refresh_days d join ${id('analytics_rollup_hourly_sketch')} h
      on h.hour >= d.day and h.hour < d.day + interval '24 hours'
    group by 1, 2, 3, 4, 5`.execute(ctx.db);
  await sql`drop table analytics_refresh_days`.execute(ctx.db);
}
