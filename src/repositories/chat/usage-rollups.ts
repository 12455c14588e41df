import { sql } from 'kysely';
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.js';
import { type CarebaseRuntime, type RepositoryContext, RuntimeState } from '../context.js';
import { BackgroundRollupRefresh, lockRefreshStep, serializedRefresh } from '../rollup-refresh.js';

export const DAY_MS = 86_400_000;

/**
 * What one `cb.chat.refreshUsageRollups()` did.
 *
 * @example
 * ```ts
 * import type { RefreshUsageRollupsResult } from 'carebase';
 * // A worker refreshing the usage rollups itself (with `analytics.autoRefreshIntervalMs: 0`).
 * const { rolledUpTo, daysRefreshed }: RefreshUsageRollupsResult = await cb.chat.refreshUsageRollups();
 * logger.info({ rolledUpTo, daysRefreshed }, 'chat usage rollups refreshed');
 * ```
 */
export interface RefreshUsageRollupsResult {
  /** Every UTC day before this instant is now rolled up (or marked dirty until the next refresh). */
  readonly rolledUpTo: Date;
  /** How many days were (re)computed from the ledger. */
  readonly daysRefreshed: number;
}

/** The usage rollup state, with `-infinity` read as `undefined`. */
export interface UsageRollupState {
  readonly rolledUpTo: Date | undefined;
  readonly refreshedAt: Date | undefined;
}

/** Reads the usage rollup state (one row). */
export async function readUsageRollupState(ctx: RepositoryContext): Promise<UsageRollupState> {
  const { rows } = await sql<{ rolled_up_to: Date | null; refreshed_at: Date | null }>`
    select nullif(rolled_up_to, '-infinity') as rolled_up_to, refreshed_at
    from ${sql.id(ctx.config.schema, 'chat_usage_rollup_state')}`.execute(ctx.db);
  return {
    rolledUpTo: rows[0]?.rolled_up_to ?? undefined,
    refreshedAt: rows[0]?.refreshed_at ?? undefined,
  };
}

/** Where {@link markDirtySql} binds its parameter in the shared text (never in a table name). */
const NOW_MARK = '\u0000now\u0000';

/**
 * The INSERT that marks dirty the UTC days of the rows of CTE `source` (a `created_at` column)
 * that lie in a closed day (before the start of the UTC day of `now`, or before the watermark): a
 * statement to put after the ledger write's CTE, so the ledger and the dirty marks commit
 * together. A conflicting day is updated, not skipped (see migration 0007 of analytics): a
 * concurrent refresh's DELETE of that day then waits for the writer and, in its repeatable-read
 * transaction, fails to serialize and is retried. `now` is the SQL expression of the write time;
 * `table` quotes a schema-qualified table name.
 */
export function markDirtyText(table: (name: string) => string, source: string, now: string): string {
  return `insert into ${table('chat_usage_rollup_dirty')} (day)
    select distinct date_trunc('day', s.created_at, 'UTC') from ${quoteIdentifier(source)} s, ${table('chat_usage_rollup_state')} st
    where s.created_at < greatest(st.rolled_up_to, date_trunc('day', ${now}, 'UTC'))
    on conflict (day) do update set day = excluded.day`;
}

/** {@link markDirtyText} for a Kysely statement, the write time `now` bound as a parameter. */
export function markDirtySql(ctx: RepositoryContext, source: string, now: Date) {
  const [head, tail] = markDirtyText(
    (name) => qualifiedName(ctx.config.schema, name),
    source,
    NOW_MARK,
  ).split(NOW_MARK);
  return sql`${sql.raw(head ?? '')}${now}::timestamptz${sql.raw(tail ?? '')}`;
}

function refreshLockKey(ctx: RepositoryContext): string {
  return `${ctx.config.schema}.chat.usage.refresh`;
}

/**
 * Rolls up every UTC day closed at least `analytics.rollupSettleMs` ago and not rolled up yet,
 * and recomputes the dirty days (closed days whose ledger rows changed since), in repeatable-read
 * transactions of at most `analytics.refreshChunkHours` (in whole days, at least one) each,
 * serialized by an advisory lock (transaction-level only behind a transaction pooler).
 *
 * The rollups sum every user's ledger rows, whatever the scope's user: with `rls: true` every
 * transaction of the refresh sets the `chat_usage` system scope (migration 0049), which the ledger's
 * and the per-conversation rollup's policies accept for every row (inside a caller's transaction,
 * only around the refresh's own statements).
 */
export function refreshUsageRollups(scope: RepositoryContext): Promise<RefreshUsageRollupsResult> {
  const ctx = scope.asSystem('chat_usage');
  const target = new Date(
    Math.floor((ctx.now().getTime() - ctx.config.analytics.rollupSettleMs) / DAY_MS) * DAY_MS,
  );
  return serializedRefresh(ctx, refreshLockKey(ctx), async (on) => {
    let daysRefreshed = 0;
    for (;;) {
      const step = await refreshStep(on, target);
      daysRefreshed += step.daysRefreshed;
      if (step.rolledUpTo.getTime() >= target.getTime())
        return { rolledUpTo: step.rolledUpTo, daysRefreshed };
    }
  });
}

const SUMS =
  sql.raw(`count(*), count(*) filter (where status = 'ok'), count(*) filter (where status = 'error'),
  count(*) filter (where status = 'aborted'), sum(input_tokens), sum(output_tokens), sum(cached_tokens),
  sum(reasoning_tokens), sum(cost)`);
const RESUMS = sql.raw(`sum(calls), sum(ok_calls), sum(error_calls), sum(aborted_calls), sum(input_tokens),
  sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost)`);
const SUM_COLUMNS =
  sql.raw(`calls, ok_calls, error_calls, aborted_calls, input_tokens, output_tokens, cached_tokens,
  reasoning_tokens, cost`);

/** One transaction of {@link refreshUsageRollups}: the dirty days, then a chunk of new days. */
async function refreshStep(ctx: RepositoryContext, target: Date): Promise<RefreshUsageRollupsResult> {
  const id = (name: string) => sql.id(ctx.config.schema, name);
  const ownTransaction = !ctx.db.isTransaction;
  return ctx.atomic(
    async (tx) => {
      await lockRefreshStep(tx, refreshLockKey(ctx), ownTransaction);
      const from = (await readUsageRollupState(tx)).rolledUpTo;
      let newStart: Date | undefined = from;
      if (newStart === undefined) {
        const { rows } = await sql<{ first: Date | null }>`
          select date_trunc('day', min(created_at), 'UTC') as first from ${id('chat_usage')}
          where created_at < ${target}`.execute(tx.db);
        newStart = rows[0]?.first ?? undefined;
      }
      let upTo = from === undefined || target.getTime() > from.getTime() ? target : from;
      if (newStart !== undefined && newStart.getTime() < upTo.getTime()) {
        const chunkDays = Math.max(1, Math.floor(tx.config.analytics.refreshChunkHours / 24));
        upTo = new Date(Math.min(upTo.getTime(), newStart.getTime() + chunkDays * DAY_MS));
      }
      const dirty = await sql<{ day: Date }>`
        delete from ${id('chat_usage_rollup_dirty')} where day < ${upTo} returning day`.execute(tx.db);
      // Dirty days at or after the old watermark are part of the new range below.
      const days = dirty.rows
        .map((row) => row.day)
        .filter((day) => from !== undefined && day.getTime() < from.getTime())
        .map((day) => day.toISOString());
      const starts = [...days];
      const ends = days.map((day) => new Date(new Date(day).getTime() + DAY_MS).toISOString());
      if (newStart !== undefined && newStart.getTime() < upTo.getTime()) {
        starts.push(newStart.toISOString());
        ends.push(upTo.toISOString());
      }
      let daysRefreshed = 0;
      for (let i = 0; i < starts.length; i++) {
        daysRefreshed += (Date.parse(ends[i] as string) - Date.parse(starts[i] as string)) / DAY_MS;
      }
      if (starts.length > 0) {
        const ranges = sql`unnest(${starts}::timestamptz[], ${ends}::timestamptz[]) as r(s, e)`;
        await sql`delete from ${id('chat_usage_daily')} d using ${ranges}
          where d.day >= r.s and d.day < r.e`.execute(tx.db);
        await sql`delete from ${id('chat_usage_daily_totals')} d using ${ranges}
          where d.day >= r.s and d.day < r.e`.execute(tx.db);
        await sql`insert into ${id('chat_usage_daily')} (day, user_id, conversation_id, author_user_id, provider,
            model, currency, ${SUM_COLUMNS})
          select date_trunc('day', u.created_at at time zone 'UTC') at time zone 'UTC', u.user_id, u.conversation_id,
            u.author_user_id, u.provider, u.model, u.currency, ${SUMS}
          from ${ranges} join ${id('chat_usage')} u on u.created_at >= r.s and u.created_at < r.e
          group by date_trunc('day', u.created_at at time zone 'UTC'), 2, 3, 4, 5, 6, 7`.execute(tx.db);
        await sql`insert into ${id('chat_usage_daily_totals')} (day, provider, model, currency, ${SUM_COLUMNS})
          select d.day, d.provider, d.model, d.currency, ${RESUMS}
          from ${ranges} join ${id('chat_usage_daily')} d on d.day >= r.s and d.day < r.e
          group by 1, 2, 3, 4`.execute(tx.db);
      }
      // Even with no usage yet the watermark advances: later writes before it mark their day dirty.
      await sql`update ${id('chat_usage_rollup_state')}
        set rolled_up_to = ${upTo}, refreshed_at = ${tx.now()}`.execute(tx.db);
      return { rolledUpTo: upTo, daysRefreshed };
    },
    { isolation: 'repeatable read' },
  );
}

const BACKGROUND_REFRESH = new RuntimeState(
  'chat usage background refresh',
  (runtime) =>
    new BackgroundRollupRefresh(runtime, {
      label: 'chat usage rollup',
      async lastRefreshedAt(root) {
        return (await readUsageRollupState(root)).refreshedAt;
      },
      refresh: refreshUsageRollups,
    }),
);

/** The background refresh of the usage rollups of a carebase instance, started by `chat.usage()`. */
export function usageRollupRefreshOf(runtime: CarebaseRuntime): BackgroundRollupRefresh {
  return runtime.state(BACKGROUND_REFRESH);
}
