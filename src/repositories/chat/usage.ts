import { sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import type { ChatMessage } from './chat-types.js';
import type { ChatUsageQuery, ChatUsageRecord, ChatUsageRow } from './usage-inputs.js';

/**
 * Writes the usage of `messages[i]` for each `usage[i]` that is defined, in one INSERT on `ctx`
 * (the caller's transaction: the messages and their usage commit together or not at all).
 */
export async function insertUsage(
  ctx: RepositoryContext,
  messages: readonly ChatMessage[],
  usage: readonly (ChatUsageRecord | undefined)[],
): Promise<void> {
  const rows = messages.flatMap((message, index) => {
    const record = usage[index];
    if (record === undefined) return [];
    return [
      {
        user_id: message.userId,
        conversation_id: message.conversationId,
        message_id: message.id,
        author_user_id: message.authorUserId,
        provider: record.provider,
        model: record.model,
        input_tokens: record.inputTokens ?? 0,
        output_tokens: record.outputTokens ?? 0,
        cached_tokens: record.cachedTokens ?? 0,
        reasoning_tokens: record.reasoningTokens ?? 0,
        cost: record.cost ?? null,
        currency: record.currency ?? null,
        latency_ms: record.latencyMs ?? null,
        status: record.status,
        created_at: message.createdAt,
      },
    ];
  });
  if (rows.length > 0) await ctx.db.insertInto('chat_usage').values(rows).execute();
}

interface ReportRow {
  key: string;
  currency: string | null;
  calls: number;
  input_tokens: string;
  output_tokens: string;
  cached_tokens: string;
  reasoning_tokens: string;
  cost: string | null;
}

const KEYS = {
  day: sql<string>`to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD')`,
  model: sql<string>`model`,
  user: sql<string>`author_user_id::text`,
  conversation: sql<string>`conversation_id::text`,
} as const;

/**
 * Exact sums of the usage ledger over [from, to), grouped by `groupBy` and currency: one GROUP BY
 * over the time range (chat_usage_created_at_idx). Token sums are computed as numeric in SQL.
 */
export async function usageReport(ctx: RepositoryContext, query: ChatUsageQuery): Promise<ChatUsageRow[]> {
  const key = KEYS[query.groupBy];
  let select = ctx.db
    .selectFrom('chat_usage')
    .select([
      key.as('key'),
      'currency',
      sql<number>`count(*)::int`.as('calls'),
      sql<string>`sum(input_tokens)::text`.as('input_tokens'),
      sql<string>`sum(output_tokens)::text`.as('output_tokens'),
      sql<string>`sum(cached_tokens)::text`.as('cached_tokens'),
      sql<string>`sum(reasoning_tokens)::text`.as('reasoning_tokens'),
      sql<string | null>`sum(cost)::text`.as('cost'),
    ])
    .where('created_at', '>=', query.from)
    .where('created_at', '<', query.to);
  if (query.userId !== undefined) select = select.where('author_user_id', '=', query.userId);
  if (query.conversationId !== undefined) select = select.where('conversation_id', '=', query.conversationId);
  if (query.model !== undefined) select = select.where('model', '=', query.model);
  const rows = (await select
    .groupBy([sql`1`, 'currency'])
    .orderBy(sql`1`)
    .orderBy('currency')
    .execute()) as ReportRow[];
  return rows.map((row) => ({
    key: row.key,
    currency: row.currency,
    calls: row.calls,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cachedTokens: Number(row.cached_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    cost: row.cost,
  }));
}
