import type { ColumnType, Generated } from 'kysely';

/**
 * `chat_usage_daily`: the usage ledger summed per UTC day and (owner, conversation, author,
 * provider, model, currency), recomputed by `cb.chat.refreshUsageRollups()`. Exact sums; `cost`
 * is null when no call of the group had a cost.
 *
 * @example
 * ```ts
 * // Rolled-up calls of one conversation (cb.chat.usage() adds the days not rolled up yet).
 * const days = await cb.db
 *   .selectFrom('chat_usage_daily')
 *   .select(['day', 'model', 'calls', 'cost', 'currency'])
 *   .where('conversation_id', '=', conversationId)
 *   .execute();
 * ```
 */
export interface ChatUsageDailyTable {
  day: Date;
  user_id: string;
  conversation_id: string;
  author_user_id: string;
  provider: string;
  model: string;
  currency: string | null;
  calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  ok_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  error_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  aborted_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  input_tokens: ColumnType<string, string | number, string | number>;
  output_tokens: ColumnType<string, string | number, string | number>;
  cached_tokens: ColumnType<string, string | number, string | number>;
  reasoning_tokens: ColumnType<string, string | number, string | number>;
  cost: ColumnType<string | null, string | number | null, string | number | null>;
}

/**
 * `chat_usage_daily_totals`: the usage ledger summed per UTC day and (provider, model, currency),
 * recomputed by `cb.chat.refreshUsageRollups()`: a few rows a day, for the unfiltered reports.
 *
 * @example
 * ```ts
 * // Rolled-up calls per model and day.
 * const rows = await cb.db.selectFrom('chat_usage_daily_totals').select(['day', 'model', 'calls']).execute();
 * ```
 */
export interface ChatUsageDailyTotalsTable {
  day: Date;
  provider: string;
  model: string;
  currency: string | null;
  calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  ok_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  error_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  aborted_calls: ColumnType<string, string | number | bigint, string | number | bigint>;
  input_tokens: ColumnType<string, string | number, string | number>;
  output_tokens: ColumnType<string, string | number, string | number>;
  cached_tokens: ColumnType<string, string | number, string | number>;
  reasoning_tokens: ColumnType<string, string | number, string | number>;
  cost: ColumnType<string | null, string | number | null, string | number | null>;
}

/**
 * `chat_usage_rollup_state`: the single row saying how far the usage rollups reach.
 *
 * @example
 * ```ts
 * // Monitoring: how far usage rollups reach and when they last ran.
 * const state = await cb.db
 *   .selectFrom('chat_usage_rollup_state')
 *   .select(['rolled_up_to', 'refreshed_at'])
 *   .executeTakeFirst();
 * ```
 */
export interface ChatUsageRollupStateTable {
  id: Generated<boolean>;
  rolled_up_to: Generated<Date>;
  refreshed_at: Date | null;
  updated_at: Generated<Date>;
}

/**
 * `chat_usage_rollup_dirty`: closed UTC days whose ledger rows changed since they were rolled up
 * (`cb.chat.usage()` reads them from the ledger until the next refresh).
 *
 * @example
 * ```ts
 * // Monitoring: closed days waiting to be rolled up again.
 * const { dirty } = await cb.db
 *   .selectFrom('chat_usage_rollup_dirty')
 *   .select((eb) => eb.fn.countAll<string>().as('dirty'))
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface ChatUsageRollupDirtyTable {
  day: Date;
}
