import type { PreparedQuery } from '../../pool/prepared-statements.js';
import {
  CURSOR_PATTERNS,
  type CursorPosition,
  type CursorSpec,
  decodeCursor,
  keysetPage,
} from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import type { RepositoryContext } from '../context.js';
import {
  type ChatMessage,
  type ChatPage,
  MESSAGE_ROW_COLUMNS,
  type MessageRow,
  messageRowOf,
  toChatMessage,
} from './chat-types.js';
import { assertParticipant } from './ownership.js';
import { openMessageRows } from './sealed-rows.js';
import { ARRAY_ROWS, preparedQuery } from './sql-text.js';

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

/** A page row from its array: the message columns, then `sort_key` (null where none is selected). */
function historyRow(a: readonly unknown[]): HistoryRow {
  const row = messageRowOf(a) as HistoryRow;
  row.sort_key = (a[12] ?? null) as string;
  return row;
}

/** Runs a page statement of {@link ARRAY_ROWS} and maps its rows. */
async function pageRows(ctx: RepositoryContext, query: PreparedQuery<unknown[]>): Promise<HistoryRow[]> {
  return (await ctx.runPrepared<unknown[]>(query)).map(historyRow);
}

/**
 * The key and conversation condition of each shape: the given id ($2) under its owner's key (an
 * InitPlan on conversation_participants_pkey: NULL, so no rows, unless the caller $1 takes part in
 * it), or the user's own default conversation (an InitPlan on conversations_default_key). Each is
 * evaluated once, so the index conditions stay plain equalities. One statement per shape, so
 * neither carries the other's branch and both run on generic plans. Returns the condition and the
 * number of the next free placeholder.
 */
function conversationOf(
  table: (name: string) => string,
  explicit: boolean,
): { readonly condition: string; readonly next: number } {
  return explicit
    ? {
        condition: `user_id = (select owner_id from ${table('conversation_participants')}
      where conversation_id = $2::uuid and user_id = $1::uuid) and conversation_id = $2::uuid`,
        next: 3,
      }
    : {
        condition: `user_id = $1::uuid and conversation_id = (select id from ${table('conversations')} where user_id = $1::uuid and is_default)`,
        next: 2,
      };
}

/**
 * One keyset page: the `limit + 1` rows after the bound. The limit is part of the text (one
 * statement per page size, at most `chat.maxPageSize` of them): with a `LIMIT $n` the planner's
 * generic plan assumes a tenth of the conversation and never wins over a custom plan, so every
 * call was planned again. Only the page's last item (row `limit`, when there is a next page) gets
 * its exact sort key; the other rows carry null.
 */
function pageSql(
  table: (name: string) => string,
  order: 'asc' | 'desc',
  explicit: boolean,
  limit: number,
): string {
  const { condition, next: p } = conversationOf(table, explicit);
  const by = `created_at ${order}, id ${order}`;
  return `select ${MESSAGE_ROW_COLUMNS}, case when row_number() over (order by ${by}) = ${limit}
  then ${exactTimestamp('created_at')} end as sort_key
from (
  select ${MESSAGE_ROW_COLUMNS} from ${table('chat_messages')}
  where ${condition}
    and (created_at, id) ${order === 'asc' ? '>' : '<'} ($${p}::timestamptz, $${p + 1}::bigint)
  order by ${by} limit ${limit + 1}
) page
order by ${by}`;
}

/**
 * One page of a conversation in (created_at, id) order. Keyset: the row comparison
 * `(created_at, id) > ($3, $4)` is an index condition on chat_messages_history_idx, so page
 * 10 000 costs what page 1 costs. The first page uses the same statement with an open bound.
 * Only an empty page pays for a participation check (a non-empty page proves participation: the
 * statement reads the conversation only under the key its participation row gives).
 */
export async function historyPage(
  ctx: RepositoryContext,
  query: HistoryQuery,
): Promise<ChatPage<ChatMessage>> {
  const { order } = query;
  const spec = HISTORY_CURSORS[order];
  const explicit = query.conversationId !== undefined;
  const head = explicit ? [query.userId, query.conversationId] : [query.userId];
  let rows: HistoryRow[];
  if (query.offset !== undefined) {
    const compiled = preparedQuery<unknown[]>(
      ctx,
      `history-offset-${order}${explicit ? '' : '-default'}`,
      // The exact-timestamp text is computed for the returned rows only, not for every skipped one.
      (t) => {
        const { condition, next: p } = conversationOf(t, explicit);
        return `select ${MESSAGE_ROW_COLUMNS}, ${exactTimestamp('created_at')} as sort_key from (
  select ${MESSAGE_ROW_COLUMNS} from ${t('chat_messages')}
  where ${condition}
  order by created_at ${order}, id ${order} limit $${p} offset $${p + 1}
) page order by created_at ${order}, id ${order}`;
      },
      [...head, query.limit + 1, query.offset],
      ARRAY_ROWS,
    );
    rows = await pageRows(ctx, compiled);
  } else {
    // The first page is the same statement after an open bound.
    const after = query.cursor === undefined ? OPEN_BOUND[order] : decodeCursor(spec, query.cursor);
    const compiled =
      ctx.config.pooler === 'transaction'
        ? // Behind a transaction pooler nothing is named: the function keeps the page's plan (0046).
          preparedQuery<unknown[]>(
            ctx,
            'history-function',
            (t) =>
              `select ${MESSAGE_ROW_COLUMNS}, sort_key from ${t('chat_history_page')}($1, $2, $3, $4, $5, $6)`,
            [query.userId, query.conversationId ?? null, order === 'desc', after.key, after.id, query.limit],
            ARRAY_ROWS,
          )
        : preparedQuery<unknown[]>(
            ctx,
            `history-${order}${explicit ? '' : '-default'}-${query.limit}`,
            (t) => pageSql(t, order, explicit, query.limit),
            [...head, after.key, after.id],
            ARRAY_ROWS,
          );
    rows = await pageRows(ctx, compiled);
  }
  if (rows.length === 0 && query.conversationId !== undefined) {
    await assertParticipant(ctx, query.userId, query.conversationId, 'read');
  }
  // The row past the page only says whether more follow (its sort key is in clear): not decrypted.
  const opened = await openMessageRows(ctx, rows.slice(0, query.limit));
  if (rows.length > query.limit) opened.push(rows[query.limit] as HistoryRow);
  return keysetPage(opened, query.limit, toChatMessage, spec, (row) => ({
    key: row.sort_key,
    id: row.id,
  }));
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
  const explicit = conversationId !== undefined;
  const compiled = preparedQuery<unknown[]>(
    ctx,
    // The count in the text, like history's page size: a generic plan from the sixth call on.
    `${explicit ? 'latest' : 'latest-default'}-${n}`,
    (t) => {
      const { condition } = conversationOf(t, explicit);
      return `select ${MESSAGE_ROW_COLUMNS} from ${t('chat_messages')}
where ${condition}
order by created_at desc, id desc limit ${n}`;
    },
    explicit ? [userId, conversationId] : [userId],
    ARRAY_ROWS,
  );
  const rows: MessageRow[] = await pageRows(ctx, compiled);
  if (rows.length === 0 && conversationId !== undefined) {
    await assertParticipant(ctx, userId, conversationId, 'read');
  }
  return (await openMessageRows(ctx, rows)).reverse().map(toChatMessage);
}
