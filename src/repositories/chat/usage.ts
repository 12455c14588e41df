import { type RawBuilder, sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import type { ChatMessage } from './chat-types.js';
import type { ChatUsageQuery, ChatUsageRecord, ChatUsageRow } from './usage-inputs.js';
import { DAY_MS, markDirtySql, readUsageRollupState } from './usage-rollups.js';

/**
 * Writes the usage of `messages[i]` for each `usage[i]` that is defined, in one statement on `ctx`
 * (the caller's transaction: the messages and their usage commit together or not at all), which
 * also marks dirty the rolled-up days its rows land in. A message that already has usage (a
 * retried append answered with the existing message) gets none again: a retry never counts twice.
 */
export async function insertUsage(
  ctx: RepositoryContext,
  messages: readonly ChatMessage[],
  usage: readonly (ChatUsageRecord | undefined)[],
): Promise<void> {
  const pairs = messages.flatMap((message, index) => {
    const record = usage[index];
    return record === undefined ? [] : [{ message, record }];
  });
  if (pairs.length === 0) return;
  const column = <T>(fn: (pair: (typeof pairs)[number]) => T): T[] => pairs.map(fn);
  const id = (name: string) => sql.id(ctx.config.schema, name);
  await sql`with usage_rows as (
      insert into ${id('chat_usage')} (user_id, conversation_id, message_id, author_user_id, provider, model,
        input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, currency, latency_ms, status, created_at)
      select v.* from unnest(${column((p) => p.message.userId)}::uuid[],
        ${column((p) => p.message.conversationId)}::uuid[], ${column((p) => p.message.id)}::bigint[],
        ${column((p) => p.message.authorUserId)}::uuid[], ${column((p) => p.record.provider)}::text[],
        ${column((p) => p.record.model)}::text[], ${column((p) => p.record.inputTokens ?? 0)}::bigint[],
        ${column((p) => p.record.outputTokens ?? 0)}::bigint[], ${column((p) => p.record.cachedTokens ?? 0)}::bigint[],
        ${column((p) => p.record.reasoningTokens ?? 0)}::bigint[], ${column((p) => p.record.cost ?? null)}::numeric[],
        ${column((p) => p.record.currency ?? null)}::text[], ${column((p) => p.record.latencyMs ?? null)}::integer[],
        ${column((p) => p.record.status)}::text[], ${column((p) => p.message.createdAt.toISOString())}::timestamptz[])
        as v(user_id, conversation_id, message_id, author_user_id, provider, model, input_tokens, output_tokens,
          cached_tokens, reasoning_tokens, cost, currency, latency_ms, status, created_at)
      where not exists (
        select 1 from ${id('chat_usage')} u
        where u.user_id = v.user_id and u.conversation_id = v.conversation_id and u.message_id = v.message_id
      )
      returning created_at
    ) ${markDirtySql(ctx, 'usage_rows', ctx.now())}`.execute(ctx.db);
}

/**
 * Deletes the ledger of the conversations `userId` owns and its rows in the per-owner rollup, and
 * marks the rolled-up days it touched dirty (the day totals are recomputed by the next refresh;
 * until then `usage()` reads those days from the ledger). On the caller's executor.
 */
export async function eraseUsage(ctx: RepositoryContext, userId: string): Promise<void> {
  await sql`with usage_rows as (
      delete from ${sql.id(ctx.config.schema, 'chat_usage')} where user_id = ${userId} returning created_at
    ) ${markDirtySql(ctx, 'usage_rows', ctx.now())}`.execute(ctx.db);
  await ctx.db.deleteFrom('chat_usage_daily').where('user_id', '=', userId).execute();
}

interface ReportRow {
  key: string;
  currency: string | null;
  calls: string;
  ok_calls: string;
  error_calls: string;
  aborted_calls: string;
  input_tokens: string;
  output_tokens: string;
  cached_tokens: string;
  reasoning_tokens: string;
  cost: string | null;
}

/**
 * The group key on the ledger and on the rollups; a day is formatted once per group, not per row.
 */
const KEYS = {
  day: {
    // Each raw range lies in one UTC day (splitByDay): its start names the day.
    raw: sql<string>`r.s`,
    rollup: sql<string>`day`,
  },
  model: { raw: sql<string>`model`, rollup: sql<string>`model` },
  user: { raw: sql<string>`author_user_id::text`, rollup: sql<string>`author_user_id::text` },
  conversation: { raw: sql<string>`conversation_id::text`, rollup: sql<string>`conversation_id::text` },
} as const;

/** How one report splits [from, to) between the rollups and the raw ledger. */
interface UsagePlan {
  /** Rolled-up days [rollupFrom, rollupTo) are read from a rollup, except `dirty`. */
  readonly rollupFrom: Date;
  readonly rollupTo: Date;
  readonly dirty: readonly Date[];
  /** Half-open ranges read from the ledger. */
  readonly raw: readonly (readonly [Date, Date])[];
}

/**
 * Decides, inside the report's snapshot, which part of [from, to) comes from the rollups (whole,
 * clean, rolled-up UTC days) and which from the ledger (the edges, the days not rolled up yet such
 * as today, and dirty days).
 */
async function planUsage(ctx: RepositoryContext, from: Date, to: Date): Promise<UsagePlan> {
  const state = await readUsageRollupState(ctx);
  const start = Math.ceil(from.getTime() / DAY_MS) * DAY_MS;
  const end = Math.min(Math.floor(to.getTime() / DAY_MS) * DAY_MS, state.rolledUpTo?.getTime() ?? start);
  if (end <= start) return { rollupFrom: from, rollupTo: from, dirty: [], raw: splitByDay([[from, to]]) };
  const rollupFrom = new Date(start);
  const rollupTo = new Date(end);
  const dirty = (
    await ctx.db
      .selectFrom('chat_usage_rollup_dirty')
      .select('day')
      .where('day', '>=', rollupFrom)
      .where('day', '<', rollupTo)
      .orderBy('day')
      .execute()
  ).map((row) => row.day);
  const raw: [Date, Date][] = [];
  if (from.getTime() < start) raw.push([from, rollupFrom]);
  for (const day of dirty) {
    const last = raw[raw.length - 1];
    if (last !== undefined && last[1].getTime() === day.getTime()) last[1] = new Date(day.getTime() + DAY_MS);
    else raw.push([day, new Date(day.getTime() + DAY_MS)]);
  }
  if (end < to.getTime()) raw.push([rollupTo, to]);
  return { rollupFrom, rollupTo, dirty, raw: splitByDay(raw) };
}

/**
 * Splits ranges at UTC day boundaries, so that each lies in one day: the raw side then groups by
 * range (a handful of groups the planner can count) instead of by a per-row day expression (which
 * it cannot estimate and may sort for).
 */
function splitByDay(ranges: readonly (readonly [Date, Date])[]): [Date, Date][] {
  const out: [Date, Date][] = [];
  for (const [a, b] of ranges) {
    let start = a.getTime();
    while (start < b.getTime()) {
      const next = Math.min(b.getTime(), Math.floor(start / DAY_MS) * DAY_MS + DAY_MS);
      out.push([new Date(start), new Date(next)]);
      start = next;
    }
  }
  return out;
}

/**
 * The rows of the acting user's conversations (the predicate of the chat_usage_actor policy), as
 * `= any(array(...))` so that the owner and conversation indexes of the rollup can serve it (a
 * user's report over 31 days of 300k ledger rows: 31 ms with `in (select ...)`, 6 ms with this).
 */
function participationSql(ctx: RepositoryContext): RawBuilder<unknown> {
  const fn = (name: string) => sql.id(ctx.config.schema, name);
  return sql`(user_id = ${fn('rls_user_id')}() or conversation_id = any(array(select ${fn('rls_conversations')}())))`;
}

function filtersSql(query: ChatUsageQuery): RawBuilder<unknown>[] {
  return [
    ...(query.userId === undefined ? [] : [sql`author_user_id = ${query.userId}`]),
    ...(query.conversationId === undefined ? [] : [sql`conversation_id = ${query.conversationId}`]),
    ...(query.model === undefined ? [] : [sql`model = ${query.model}`]),
  ];
}

/**
 * Exact sums of the usage ledger over [from, to), grouped by `groupBy` and currency, in one
 * repeatable-read snapshot (on a replica when one is in rotation): whole rolled-up days from the
 * rollups (the day totals when no user or conversation is asked for), the rest (edges, today, days
 * not rolled up yet, dirty days) from the ledger, summed again as numeric in SQL: the same sums as
 * one GROUP BY over the ledger.
 *
 * With `rls: true`: on a scope with a user, the usage of the conversations that user owns or takes
 * part in (the ledger policy's rows; the rollup side is narrowed the same way, so the sums stay
 * those of one GROUP BY over the rows the user may see); on a scope without a user (the admin
 * report), every user's usage, in transactions carrying the `chat_usage` system scope (migration
 * 0049), equal to the report with row-level security off.
 */
export function usageReport(scope: RepositoryContext, query: ChatUsageQuery): Promise<ChatUsageRow[]> {
  const participant = scope.rlsUserId !== undefined;
  const ctx = participant ? scope : scope.asSystem('chat_usage');
  return ctx.onReplica((reader) =>
    reader.atomic(
      async (tx) => {
        const id = (name: string) => sql.id(tx.config.schema, name);
        const plan = await planUsage(tx, query.from, query.to);
        const key = KEYS[query.groupBy];
        // The rows of the chat_usage_actor policy, on both sides: exact whether or not the
        // policies are enabled (grantAppRole({ rowSecurity })), and never the day totals, which
        // sum every user's conversations.
        const filters = participant ? [...filtersSql(query), participationSql(tx)] : filtersSql(query);
        const totals =
          !participant &&
          query.userId === undefined &&
          query.conversationId === undefined &&
          (query.groupBy === 'day' || query.groupBy === 'model');
        const rollupWhere = sql.join(
          [
            sql`day >= ${plan.rollupFrom}`,
            sql`day < ${plan.rollupTo}`,
            ...(plan.dirty.length > 0
              ? [sql`day <> all(${plan.dirty.map((d) => d.toISOString())}::timestamptz[])`]
              : []),
            ...filters,
          ],
          sql` and `,
        );
        const rawWhere = sql.join([sql`true`, ...filters], sql` and `);
        const ranges = sql`unnest(${plan.raw.map(([a]) => a.toISOString())}::timestamptz[],
          ${plan.raw.map(([, b]) => b.toISOString())}::timestamptz[]) as r(s, e)`;
        const { rows } = await sql<ReportRow>`
          select ${query.groupBy === 'day' ? sql`to_char(date_trunc('day', key at time zone 'UTC'), 'YYYY-MM-DD')` : sql`key`} as key,
            currency, sum(calls)::text as calls, sum(ok_calls)::text as ok_calls,
            sum(error_calls)::text as error_calls, sum(aborted_calls)::text as aborted_calls,
            sum(input_tokens)::text as input_tokens, sum(output_tokens)::text as output_tokens,
            sum(cached_tokens)::text as cached_tokens, sum(reasoning_tokens)::text as reasoning_tokens,
            sum(cost)::text as cost
          from (
            select ${key.rollup} as key, currency, sum(calls) as calls, sum(ok_calls) as ok_calls,
              sum(error_calls) as error_calls, sum(aborted_calls) as aborted_calls,
              sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
              sum(cached_tokens) as cached_tokens, sum(reasoning_tokens) as reasoning_tokens, sum(cost) as cost
            from ${id(totals ? 'chat_usage_daily_totals' : 'chat_usage_daily')}
            where ${rollupWhere}
            group by 1, 2
            union all
            select ${key.raw}, currency, count(*), count(*) filter (where status = 'ok'),
              count(*) filter (where status = 'error'), count(*) filter (where status = 'aborted'),
              sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost)
            from ${ranges} join ${id('chat_usage')} on created_at >= r.s and created_at < r.e
            where ${rawWhere}
            group by 1, 2
          ) parts
          group by 1, 2
          order by 1, 2`.execute(tx.db);
        return rows.map((row) => ({
          key: row.key,
          currency: row.currency,
          calls: Number(row.calls),
          okCalls: Number(row.ok_calls),
          errorCalls: Number(row.error_calls),
          abortedCalls: Number(row.aborted_calls),
          inputTokens: Number(row.input_tokens),
          outputTokens: Number(row.output_tokens),
          cachedTokens: Number(row.cached_tokens),
          reasoningTokens: Number(row.reasoning_tokens),
          cost: row.cost,
        }));
      },
      { isolation: 'repeatable read' },
    ),
  );
}
