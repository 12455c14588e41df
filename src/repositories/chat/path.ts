import { ValidationError } from '../../errors/errors.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, encodeCursor } from '../../sql/cursor.js';
import type { RepositoryContext } from '../context.js';
import {
  type ChatMessage,
  type ChatPage,
  MESSAGE_ROW_COLUMNS,
  messageRowOf,
  toChatMessage,
} from './chat-types.js';
import { assertParticipant } from './ownership.js';
import { openMessageRows } from './sealed-rows.js';
import { ARRAY_ROWS, preparedQuery } from './sql-text.js';

/** Cursors of `path()`: the conversation and the first message of the next (older) page. */
const PATH_CURSOR: CursorSpec = { kind: 'path', key: CURSOR_PATTERNS.uuid, id: CURSOR_PATTERNS.bigint };

/** Parsed `path()` input. */
export interface PathQuery {
  readonly userId: string;
  readonly conversationId: string;
  readonly leafId: string | undefined;
  readonly limit: number;
  readonly cursor: string | undefined;
}

/**
 * One page of a branch, in ONE statement: a recursive walk from the leaf towards the root that
 * stops after `limit + 1` messages (the last one starts the next page). Every step is one index
 * probe: an explicit parent on chat_messages_pkey (user_id, id), an implicit one (the previous
 * message) on a backward scan of chat_messages_history_idx with LIMIT 1. The conversation is
 * reached under the key the caller's participation gives ($1, $2 on
 * conversation_participants_pkey; no row, so no messages, for a stranger). The start is the given
 * leaf ($3), else the conversation's active leaf when one was chosen and still exists, else its
 * newest message. The limit is part of the text, like `history`'s page size (generic plans).
 */
function pathSql(t: (name: string) => string, limit: number): string {
  const messages = t('chat_messages');
  const columns = MESSAGE_ROW_COLUMNS.replace(/(^|, )/g, '$1m.');
  return `with recursive access as (
  select owner_id from ${t('conversation_participants')} where conversation_id = $2::uuid and user_id = $1::uuid
), start as (
  select coalesce($3::bigint,
    (select m.id from ${t('conversations')} c
      join ${messages} m on m.user_id = c.user_id and m.conversation_id = c.id and m.id = c.active_leaf_id
      where c.user_id = (select owner_id from access) and c.id = $2::uuid),
    (select m.id from ${messages} m where m.user_id = (select owner_id from access) and m.conversation_id = $2::uuid
      order by m.created_at desc, m.id desc limit 1)) as id
), walk as (
  select ${columns}, m.is_root, 1 as n from ${messages} m
  where m.user_id = (select owner_id from access) and m.conversation_id = $2::uuid and m.id = (select id from start)
  union all
  select ${columns}, m.is_root, w.n + 1 from walk w
  join ${messages} m on m.user_id = w.user_id and m.id = coalesce(w.parent_id,
    case when not w.is_root then (select p.id from ${messages} p
      where p.user_id = w.user_id and p.conversation_id = w.conversation_id
        and (p.created_at, p.id) < (w.created_at, w.id)
      order by p.created_at desc, p.id desc limit 1) end)
  where w.n <= ${limit}
)
select ${MESSAGE_ROW_COLUMNS}, n from walk order by n desc`;
}

/**
 * One page of the branch ending at the leaf, root → leaf order; the first page holds the newest
 * `limit` messages and `nextCursor` leads to the older ones. Throws `ValidationError` for a leaf or
 * cursor that is not a message of the conversation, `ForbiddenError` / `NotFoundError` for the
 * conversation.
 */
export async function pathPage(ctx: RepositoryContext, query: PathQuery): Promise<ChatPage<ChatMessage>> {
  let start = query.leafId;
  if (query.cursor !== undefined) {
    const position = decodeCursor(PATH_CURSOR, query.cursor);
    if (position.key !== query.conversationId.toLowerCase()) {
      throw new ValidationError('invalid cursor: issued for another conversation', [
        { path: ['cursor'], message: 'was issued for another conversation', code: 'invalid_cursor' },
      ]);
    }
    start = position.id;
  }
  const compiled = preparedQuery<unknown[]>(
    ctx,
    `path-${query.limit}`,
    (t) => pathSql(t, query.limit),
    [query.userId, query.conversationId, start ?? null],
    ARRAY_ROWS,
  );
  // Array rows (the columns of MessageRow, then n): one shape for every row.
  const rows = (await ctx.runPrepared<unknown[]>(compiled)).map(messageRowOf);
  if (rows.length === 0) {
    await assertParticipant(ctx, query.userId, query.conversationId, 'read');
    if (start !== undefined) {
      const field = query.cursor !== undefined ? 'cursor' : 'leafId';
      throw new ValidationError(`invalid ${field}: not a message of this conversation`, [
        { path: [field], message: 'must be a message of this conversation', code: 'custom' },
      ]);
    }
    return { items: [], nextCursor: undefined };
  }
  const more = rows.length > query.limit ? rows[0] : undefined;
  const page = more === undefined ? rows : rows.slice(1);
  const opened = await openMessageRows(ctx, page);
  return {
    items: opened.map(toChatMessage),
    nextCursor:
      more === undefined
        ? undefined
        : encodeCursor(PATH_CURSOR, { key: query.conversationId.toLowerCase(), id: more.id }),
  };
}
