import type { ChatUsageQuery, ChatUsageRow } from 'carebase';
import type pg from 'pg';

/** Every `groupBy` of `chat.usage()`. */
export const USAGE_GROUPS = ['day', 'model', 'user', 'conversation'] as const;

/** The SQL of each `groupBy` key over the ledger. */
const KEYS = {
  day: `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`,
  model: 'model',
  user: 'author_user_id::text',
  conversation: 'conversation_id::text',
} as const;

/**
 * The reference of `chat.usage()`: one raw GROUP BY over `schema`'s usage ledger on `client`
 * (the owner: no policies, no rollups), with the query's filters and, when given, only the ledger
 * rows of `conversations`. Rows as `reportValues` gives them.
 */
export async function ledgerReport(
  client: pg.ClientBase,
  schema: string,
  query: ChatUsageQuery,
  conversations?: readonly string[],
): Promise<unknown[]> {
  const where = ['created_at >= $1', 'created_at < $2'];
  const params: unknown[] = [query.from, query.to];
  if (query.userId !== undefined) where.push(`author_user_id = $${params.push(query.userId)}`);
  if (query.conversationId !== undefined)
    where.push(`conversation_id = $${params.push(query.conversationId)}`);
  if (query.model !== undefined) where.push(`model = $${params.push(query.model)}`);
  if (conversations !== undefined)
    where.push(`conversation_id = any($${params.push(conversations)}::uuid[])`);
  const { rows } = await client.query(
    `select ${KEYS[query.groupBy]} as key, currency, count(*)::text as calls,
       count(*) filter (where status = 'ok')::text as ok, count(*) filter (where status = 'error')::text as error,
       count(*) filter (where status = 'aborted')::text as aborted,
       sum(input_tokens)::text as input, sum(output_tokens)::text as output, sum(cached_tokens)::text as cached,
       sum(reasoning_tokens)::text as reasoning, sum(cost)::text as cost
     from "${schema}".chat_usage where ${where.join(' and ')} group by 1, 2 order by 1, 2`,
    params,
  );
  return rows.map((r) => Object.values(r));
}

/** `chat.usage()` rows as the values `ledgerReport` returns, in the same order. */
export function reportValues(rows: readonly ChatUsageRow[]): unknown[] {
  return rows.map((r) => [
    r.key,
    r.currency,
    String(r.calls),
    String(r.okCalls),
    String(r.errorCalls),
    String(r.abortedCalls),
    String(r.inputTokens),
    String(r.outputTokens),
    String(r.cachedTokens),
    String(r.reasoningTokens),
    r.cost,
  ]);
}
