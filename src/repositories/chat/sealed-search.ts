import { type Expression, type SqlBool, sql } from 'kysely';
import { normalizedWords } from '../../security/blind-index.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import type { RepositoryContext } from '../context.js';
import { queryTokens } from '../encryption/blind-tokens.js';
import { userKeys } from '../encryption/data-keys.js';
import { blindRank, blindSnippet, matchesBlindQuery, parseBlindQuery } from './blind-query.js';
import { type ChatSearchPage, type MessageRow, type SearchQuery, toChatMessage } from './chat-types.js';
import { assertParticipant } from './ownership.js';
import { openMessageRows } from './sealed-rows.js';
import { indexedText } from './searchable-text.js';

/** Cursors of the encrypted search: best rank first, like the clear one's (same kind: same listing). */
const SEARCH_CURSOR: CursorSpec = { kind: 'search', key: CURSOR_PATTERNS.rank, id: CURSOR_PATTERNS.bigint };

/**
 * The most matching messages one encrypted search reads, decrypts and ranks: the most recent
 * ones (by id) when more match. Bounds a search's cost whatever the query (docs/encryption.md).
 */
export const BLIND_SEARCH_CANDIDATES = 5000;

/** -1, 0 or 1 as bigint text `a` is below, equal to or above `b`. */
function compareBigintText(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whose rows to read: an owner's key range, all of it or some conversations of it. */
interface Scope {
  readonly owner: string;
  readonly conversations: string[] | undefined;
}

type Ranked = { readonly row: MessageRow; readonly rank: number; readonly text: string };

/**
 * chat.search with encryption on (docs/encryption.md, "Search"): the query's words become blind
 * tokens under each owner's index keys (one set per data key version), the GIN index on
 * `search_tokens` finds the messages holding all the words of an alternative, at most
 * {@link BLIND_SEARCH_CANDIDATES} of them are decrypted, checked against the whole query
 * (phrases, exclusions, exact words), ranked and snippeted here, then paged by keyset over
 * (rank, id) descending like the clear search. Rows not yet sealed (before `encryptExisting()`
 * finished, with `plaintextReads: 'allow'`) are found through their `search_vector`.
 */
export async function searchSealed(ctx: RepositoryContext, input: SearchQuery): Promise<ChatSearchPage> {
  const after = input.cursor === undefined ? undefined : decodeCursor(SEARCH_CURSOR, input.cursor);
  const alternatives = parseBlindQuery(input.query);
  if (alternatives.length === 0) return { items: [], nextCursor: undefined, hasMore: false };
  const scopes = await scopesOf(ctx, input);
  const keys = await userKeys(
    ctx,
    scopes.map((scope) => scope.owner),
    false,
  );
  const plaintext = ctx.config.encryption?.plaintextReads === 'allow';
  const rows = await ctx.db
    .selectFrom('chat_messages')
    .select([
      'id',
      'user_id',
      'conversation_id',
      'client_id',
      'role',
      'content',
      'metadata',
      'created_at',
      'author_user_id',
      'parent_id',
      'pinned',
      'parts',
    ])
    .where((eb) =>
      eb.or(
        scopes.map((scope) => {
          const ownerKeys = keys.get(scope.owner);
          const found: Expression<SqlBool>[] = [];
          if (ownerKeys !== undefined)
            for (const alternative of alternatives)
              for (const tokens of queryTokens(ownerKeys, scope.owner, alternative.indexed))
                found.push(sql<SqlBool>`search_tokens @> ${tokens}::bigint[]`);
          if (plaintext)
            found.push(
              sql<SqlBool>`search_tokens is null and search_vector @@ websearch_to_tsquery(${ctx.config.chat.searchLanguage}::regconfig, ${input.query})`,
            );
          const where: Expression<SqlBool>[] = [eb('user_id', '=', scope.owner), eb.or(found)];
          if (scope.conversations !== undefined) where.push(eb('conversation_id', 'in', scope.conversations));
          return eb.and(where);
        }),
      ),
    )
    .orderBy('id', 'desc')
    .limit(BLIND_SEARCH_CANDIDATES)
    .execute();
  const queryWords = new Set(alternatives.flatMap((alternative) => alternative.indexed));
  const ranked: Ranked[] = [];
  for (const row of await openMessageRows(ctx, rows as MessageRow[])) {
    const text = indexedText(row.content, row.parts?.parts ?? null, {
      toolParts: ctx.config.chat.searchToolParts,
    });
    const words = normalizedWords(text);
    if (!matchesBlindQuery(words, alternatives)) continue;
    const rank = blindRank(words, queryWords);
    if (after !== undefined) {
      const afterRank = Number(after.key);
      if (rank > afterRank || (rank === afterRank && compareBigintText(row.id, after.id) >= 0)) continue;
    }
    ranked.push({ row, rank, text });
  }
  ranked.sort((a, b) => b.rank - a.rank || compareBigintText(b.row.id, a.row.id));
  const page = keysetPage(
    ranked.slice(0, input.limit + 1),
    input.limit,
    (hit) => ({
      message: toChatMessage(hit.row),
      rank: hit.rank,
      snippet: blindSnippet(hit.text, queryWords),
    }),
    SEARCH_CURSOR,
    (hit) => ({ key: String(hit.rank), id: hit.row.id }),
  );
  return { ...page, hasMore: page.nextCursor !== undefined };
}

/** The user's own key range and the conversations shared with them (by owner), or one conversation. */
async function scopesOf(ctx: RepositoryContext, input: SearchQuery): Promise<Scope[]> {
  if (input.conversationId !== undefined) {
    const { ownerId } = await assertParticipant(ctx, input.userId, input.conversationId, 'read');
    return [{ owner: ownerId, conversations: [input.conversationId] }];
  }
  const shared = await ctx.db
    .selectFrom('conversation_participants')
    .select(['owner_id', 'conversation_id'])
    .where('user_id', '=', input.userId)
    .where('role', '<>', 'owner')
    .execute();
  const byOwner = new Map<string, string[]>();
  for (const row of shared)
    byOwner.set(row.owner_id, [...(byOwner.get(row.owner_id) ?? []), row.conversation_id]);
  return [
    { owner: input.userId, conversations: undefined },
    ...[...byOwner].map(([owner, conversations]) => ({ owner, conversations })),
  ];
}
