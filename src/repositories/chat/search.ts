import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import type { RepositoryContext } from '../context.js';
import { type ChatSearchPage, type MessageRow, type SearchQuery, toChatMessage } from './chat-types.js';

export type { SearchQuery };

import { assertParticipant } from './ownership.js';
import { searchSealed } from './sealed-search.js';
import { SEARCH_INDEX_CHARS } from './search-index-limit.js';
import { preparedQuery } from './sql-text.js';

type SearchRow = MessageRow & { rank_text: string; snippet: string };

/** Cursors of `search()`: best rank first. */
const SEARCH_CURSOR: CursorSpec = { kind: 'search', key: CURSOR_PATTERNS.rank, id: CURSOR_PATTERNS.bigint };

/** ts_headline options: up to two fragments of about 5 to 20 words around the matches. */
const HEADLINE =
  'StartSel=<b>, StopSel=</b>, MaxFragments=2, MinWords=5, MaxWords=20, FragmentDelimiter=" ... "';

/** Snippets are cut from the indexed prefix of a message (ts_headline reads all it is given). */
const SNIPPET_SOURCE_CHARS = SEARCH_INDEX_CHARS;

/**
 * Full-text search over the messages of every conversation a user takes part in (or of one
 * conversation), best first.
 * The query is parsed by websearch_to_tsquery (quotes, `or`, `-term`; never a syntax error); a
 * query of only stop words or punctuation parses to an empty tsquery that matches nothing.
 * Rows come from chat_messages_search_idx (GIN) ANDed with the user's key range; they are ranked
 * by ts_rank_cd and paged by keyset over (rank, id) descending. Snippets are computed for the
 * returned page only.
 */
export async function searchMessages(ctx: RepositoryContext, input: SearchQuery): Promise<ChatSearchPage> {
  // Sealed messages leave nothing in search_vector: they are found through the blind index.
  if (ctx.config.encryption !== undefined) return searchSealed(ctx, input);
  const owner =
    input.conversationId === undefined
      ? undefined
      : (await assertParticipant(ctx, input.userId, input.conversationId, 'read')).ownerId;
  const after = input.cursor === undefined ? undefined : decodeCursor(SEARCH_CURSOR, input.cursor);
  const columns =
    'm.id, m.user_id, m.conversation_id, m.client_id, m.role, m.content, m.metadata, m.created_at, m.author_user_id, m.parent_id, m.pinned';
  // Two shapes: one conversation (under its owner's key, $1), or every conversation the user
  // takes part in (their own key range, plus each conversation shared with them).
  const scope = (t: (name: string) => string) =>
    input.conversationId === undefined
      ? `select ${columns}, ts_rank_cd(m.search_vector, q.query) as rank
  from ${t('chat_messages')} m, q
  where m.user_id = $1::uuid and m.search_vector @@ q.query
  union all
  select ${columns}, ts_rank_cd(m.search_vector, q.query) as rank
  from ${t('conversation_participants')} p
  join ${t('chat_messages')} m on m.user_id = p.owner_id and m.conversation_id = p.conversation_id, q
  where p.user_id = $1::uuid and p.role <> 'owner' and m.search_vector @@ q.query`
      : `select ${columns}, ts_rank_cd(m.search_vector, q.query) as rank
  from ${t('chat_messages')} m, q
  where m.user_id = $1::uuid and m.conversation_id = $7::uuid and m.search_vector @@ q.query`;
  const compiled = preparedQuery(
    ctx,
    input.conversationId === undefined ? 'search' : 'search-conversation',
    (t) => `with q as (select websearch_to_tsquery($2::regconfig, $3) as query),
hits as (
  ${scope(t)}
),
page as (
  select * from hits
  where $4::real is null or (rank, id) < ($4::real, $5::bigint)
  order by rank desc, id desc
  limit $6
)
select page.id, page.user_id, page.conversation_id, page.client_id, page.role, page.content, page.metadata,
  page.created_at, page.author_user_id, page.parent_id, page.pinned, page.rank::text as rank_text,
  ts_headline($2::regconfig, left(page.content, ${SNIPPET_SOURCE_CHARS}), q.query, '${HEADLINE}') as snippet
from page, q
order by page.rank desc, page.id desc`,
    [
      owner ?? input.userId,
      ctx.config.chat.searchLanguage,
      input.query,
      after?.key ?? null,
      after?.id ?? null,
      input.limit + 1,
      ...(input.conversationId === undefined ? [] : [input.conversationId]),
    ],
  );
  const rows = await ctx.runPrepared<SearchRow>(compiled);
  const page = keysetPage(
    rows,
    input.limit,
    (row) => ({ message: toChatMessage(row), rank: Number(row.rank_text), snippet: row.snippet }),
    SEARCH_CURSOR,
    (row) => ({ key: row.rank_text, id: row.id }),
  );
  // One row past the page was read: whether more matches exist is known, not guessed.
  return { ...page, hasMore: page.nextCursor !== undefined };
}
