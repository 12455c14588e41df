import {
  CURSOR_PATTERNS,
  type CursorPosition,
  type CursorSpec,
  decodeCursor,
  keysetPage,
} from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import type { RepositoryContext } from '../context.js';
import { type ChatMessage, type ChatPage, type MessageRow, toChatMessage } from './chat-types.js';
import { assertConversationOwner } from './ownership.js';
import { preparedQuery } from './sql-text.js';

/** Parsed `history()` input. */
export interface HistoryQuery {
  readonly userId: string;
  readonly conversationId: string | undefined;
  readonly limit: number;
  readonly cursor: string | undefined;
  readonly offset: number | undefined;
  readonly order: 'asc' | 'desc';
}

type HistoryRow = MessageRow & { sort_key: string };

/** Cursors of `history()`, one kind per order. */
const HISTORY_CURSORS: Record<'asc' | 'desc', CursorSpec> = {
  asc: { kind: 'history-asc', key: CURSOR_PATTERNS.timestamp, id: CURSOR_PATTERNS.bigint },
  desc: { kind: 'history-desc', key: CURSOR_PATTERNS.timestamp, id: CURSOR_PATTERNS.bigint },
};

/** Before the first row of each order. */
const OPEN_BOUND: Record<'asc' | 'desc', CursorPosition> = {
  asc: { key: '-infinity', id: '0' },
  desc: { key: 'infinity', id: '9223372036854775807' },
};

const SELECT = `select id, user_id, conversation_id, client_id, role, content, metadata, created_at,
  ${exactTimestamp('created_at')} as sort_key`;

/**
 * The conversation: the given id, or the user's default conversation (an InitPlan, evaluated once,
 * so the index condition stays a plain equality). $1 = user id, $2 = conversation id or null.
 */
const conversation = (table: (name: string) => string): string =>
  `coalesce($2::uuid, (select id from ${table('conversations')} where user_id = $1 and is_default))`;

/**
 * One page of a conversation in (created_at, id) order. Keyset: the row comparison
 * `(created_at, id) > ($3, $4)` is an index condition on chat_messages_history_idx, so page
 * 10 000 costs what page 1 costs. The first page uses the same statement with an open bound.
 * Only an empty page pays for an ownership check (a non-empty page proves ownership: its rows
 * carry the user's id and, through the composite foreign key, the user owns the conversation).
 */
export async function historyPage(
  ctx: RepositoryContext,
  query: HistoryQuery,
): Promise<ChatPage<ChatMessage>> {
  const asc = query.order === 'asc';
  const spec = HISTORY_CURSORS[query.order];
  let rows: HistoryRow[];
  if (query.offset !== undefined) {
    const compiled = preparedQuery(
      ctx,
      `history-offset-${query.order}`,
      // The exact-timestamp text is computed for the returned rows only, not for every skipped one.
      (t) => `select *, ${exactTimestamp('created_at')} as sort_key from (
  select id, user_id, conversation_id, client_id, role, content, metadata, created_at from ${t('chat_messages')}
  where user_id = $1 and conversation_id = ${conversation(t)}
  order by created_at ${query.order}, id ${query.order} limit $3 offset $4
) page order by created_at ${query.order}, id ${query.order}`,
      [query.userId, query.conversationId ?? null, query.limit + 1, query.offset],
    );
    rows = (await ctx.db.executeQuery<HistoryRow>(compiled)).rows;
  } else {
    // The first page is the same statement after an open bound.
    const after = query.cursor === undefined ? OPEN_BOUND[query.order] : decodeCursor(spec, query.cursor);
    const compiled = preparedQuery(
      ctx,
      `history-${query.order}`,
      (t) => `${SELECT} from ${t('chat_messages')}
where user_id = $1 and conversation_id = ${conversation(t)}
  and (created_at, id) ${asc ? '>' : '<'} ($3::timestamptz, $4::bigint)
order by created_at ${query.order}, id ${query.order} limit $5`,
      [query.userId, query.conversationId ?? null, after.key, after.id, query.limit + 1],
    );
    rows = (await ctx.db.executeQuery<HistoryRow>(compiled)).rows;
  }
  if (rows.length === 0 && query.conversationId !== undefined) {
    await assertConversationOwner(ctx, query.userId, query.conversationId);
  }
  return keysetPage(rows, query.limit, toChatMessage, spec, (row) => ({ key: row.sort_key, id: row.id }));
}

/**
 * The newest `n` messages of a conversation, returned oldest first (ready to send to a model).
 * Reads exactly `n` rows: a backward scan of chat_messages_history_idx with LIMIT n.
 */
export async function latestMessages(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string | undefined,
  n: number,
): Promise<ChatMessage[]> {
  const compiled = preparedQuery(
    ctx,
    'latest',
    (t) => `${SELECT} from ${t('chat_messages')}
where user_id = $1 and conversation_id = ${conversation(t)}
order by created_at desc, id desc limit $3`,
    [userId, conversationId ?? null, n],
  );
  const { rows } = await ctx.db.executeQuery<HistoryRow>(compiled);
  if (rows.length === 0 && conversationId !== undefined) {
    await assertConversationOwner(ctx, userId, conversationId);
  }
  return rows.reverse().map(toChatMessage);
}
