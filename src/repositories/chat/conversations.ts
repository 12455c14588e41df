import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { ConstraintViolationError, NotFoundError } from '../../errors/errors.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { type ChatPage, type Conversation, type ConversationRow, toConversation } from './chat-types.js';
import { assertConversationOwner, assertParticipant } from './ownership.js';
import { conversationValues, openConversationRows } from './sealed-rows.js';
import { preparedQuery } from './sql-text.js';

/** The columns of a conversation row, as every conversation query returns them. */
export const CONVERSATION_COLUMNS = [
  'id',
  'user_id',
  'title',
  'is_default',
  'metadata',
  'last_message_at',
  'created_at',
  'updated_at',
  'status',
  'version',
  'archived_at',
  'retain_until',
  'retention_days',
] as const;

/** Cursors of `listConversations()`: most recent activity first. */
const CONVERSATIONS_CURSOR: CursorSpec = {
  kind: 'conversations',
  key: CURSOR_PATTERNS.timestamp,
  id: CURSOR_PATTERNS.uuid,
};

/** Creates a conversation and its `chat.conversation_create` audit entry in one transaction. */
export function createConversation(
  ctx: RepositoryContext,
  input: { userId: string; title: string | undefined; metadata: Record<string, unknown> | undefined },
): Promise<Conversation> {
  return ctx.atomic(async (tx) => {
    const now = tx.now();
    let row: ConversationRow;
    // With encryption on, the id is chosen here: the envelope is bound to it before the insert.
    const id = tx.config.encryption === undefined ? undefined : randomUUID();
    try {
      const stored = await conversationValues(
        tx,
        input.userId,
        id ?? '',
        input.title ?? null,
        input.metadata === undefined ? null : JSON.stringify(input.metadata),
      );
      row = await tx.db
        .insertInto('conversations')
        .values({
          ...(id === undefined ? {} : { id }),
          user_id: input.userId,
          title: stored.title,
          metadata: stored.metadata,
          last_message_at: now,
          created_at: now,
          updated_at: now,
        })
        .returning(CONVERSATION_COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
        throw new NotFoundError('user', { cause: error });
      }
      throw error;
    }
    await recordAudit(tx, {
      action: 'chat.conversation_create',
      resourceType: 'conversation',
      resourceId: row.id,
      subjectId: input.userId,
    });
    const [opened] = await openConversationRows(tx, [row]);
    return toConversation(opened as ConversationRow);
  });
}

/**
 * Returns the conversation, or throws `NotFoundError` / `ForbiddenError`: any participant may read
 * it (the caller's participation row, then the conversation by its primary key).
 */
export async function getConversation(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
): Promise<Conversation> {
  const statement = preparedQuery<ConversationRow>(
    ctx,
    'get-conversation',
    (t) => `select ${CONVERSATION_COLUMNS.map((column) => `c.${column}`).join(', ')}
from ${t('conversation_participants')} p
join ${t('conversations')} c on c.user_id = p.owner_id and c.id = p.conversation_id
where p.conversation_id = $1::uuid and p.user_id = $2::uuid`,
    [conversationId, userId],
  );
  const [row] = await ctx.runPrepared<ConversationRow>(statement);
  if (row === undefined) {
    await assertParticipant(ctx, userId, conversationId, 'read');
    throw new NotFoundError('conversation');
  }
  const [opened] = await openConversationRows(ctx, [row]);
  return toConversation(opened as ConversationRow);
}

/**
 * One page of the conversations a user takes part in, most recent activity first: keyset over
 * (last_message_at DESC, id DESC). The user's own conversations come from
 * conversations_user_activity_idx; those shared with them through their participant rows; each
 * side reads at most a page past the cursor, and the two are merged. Archived conversations are
 * left out unless `archived` is `include` (or `only`).
 */
export async function listConversations(
  ctx: RepositoryContext,
  input: {
    userId: string;
    limit: number;
    cursor: string | undefined;
    archived: 'exclude' | 'include' | 'only';
    status: string | undefined;
  },
): Promise<ChatPage<Conversation>> {
  const position = input.cursor === undefined ? undefined : decodeCursor(CONVERSATIONS_CURSOR, input.cursor);
  const side = (shared: boolean) => {
    let query = shared
      ? ctx.db
          .selectFrom('conversation_participants as p')
          .innerJoin('conversations as c', (join) =>
            join.onRef('c.user_id', '=', 'p.owner_id').onRef('c.id', '=', 'p.conversation_id'),
          )
          .where('p.user_id', '=', input.userId)
          .where('p.role', '<>', 'owner')
      : ctx.db.selectFrom('conversations as c').where('c.user_id', '=', input.userId);
    if (input.archived === 'exclude') query = query.where('c.archived_at', 'is', null);
    if (input.archived === 'only') query = query.where('c.archived_at', 'is not', null);
    if (input.status !== undefined) query = query.where('c.status', '=', input.status);
    if (position !== undefined) {
      query = query.where(
        sql<boolean>`(c.last_message_at, c.id) < (${position.key}::timestamptz, ${position.id}::uuid)`,
      );
    }
    return query
      .select([
        ...CONVERSATION_COLUMNS.map((column) => `c.${column}` as const),
        sql.raw<string>(exactTimestamp('c.last_message_at')).as('sort_key'),
      ])
      .orderBy('c.last_message_at', 'desc')
      .orderBy('c.id', 'desc')
      .limit(input.limit + 1);
  };
  // One after the other: inside a transaction both run on its one connection anyway.
  const own = await side(false).execute();
  const shared = await side(true).execute();
  const rows = [...own, ...shared]
    .sort((a, b) => (a.sort_key === b.sort_key ? (a.id < b.id ? 1 : -1) : a.sort_key < b.sort_key ? 1 : -1))
    .slice(0, input.limit + 1);
  return keysetPage(
    await openConversationRows(ctx, rows),
    input.limit,
    toConversation,
    CONVERSATIONS_CURSOR,
    (row) => ({
      key: row.sort_key,
      id: row.id,
    }),
  );
}

/**
 * Renames a conversation (title `null` clears it; owner or member), audited as
 * `chat.conversation_rename`.
 */
export function renameConversation(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string; title: string | null },
): Promise<Conversation> {
  return ctx.atomic(async (tx) => {
    const { ownerId } = await assertParticipant(tx, input.userId, input.conversationId, 'write');
    const values = await renamedValues(tx, { ...input, userId: ownerId });
    const row = await tx.db
      .updateTable('conversations')
      .set((eb) => ({ ...values, version: eb('version', '+', 1) }))
      .where('user_id', '=', ownerId)
      .where('id', '=', input.conversationId)
      .returning(CONVERSATION_COLUMNS)
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError('conversation');
    await recordAudit(tx, {
      action: 'chat.conversation_rename',
      resourceType: 'conversation',
      resourceId: row.id,
      subjectId: ownerId,
    });
    const [opened] = await openConversationRows(tx, [row]);
    return toConversation(opened as ConversationRow);
  });
}

/**
 * The columns a rename sets: the title; with encryption on, the envelope re-sealed with the new
 * title and the stored metadata (read under a row lock, in the rename's transaction).
 */
export async function renamedValues(
  tx: RepositoryContext,
  input: { userId: string; conversationId: string; title: string | null },
): Promise<{ title: string | null; metadata?: string | null }> {
  if (tx.config.encryption === undefined) return { title: input.title };
  const current = await tx.db
    .selectFrom('conversations')
    .select(CONVERSATION_COLUMNS)
    .where('user_id', '=', input.userId)
    .where('id', '=', input.conversationId)
    .forUpdate()
    .executeTakeFirst();
  if (current === undefined) return { title: input.title };
  const [opened] = await openConversationRows(tx, [current]);
  const metadata = opened?.metadata ?? null;
  return conversationValues(
    tx,
    input.userId,
    input.conversationId,
    input.title,
    metadata === null ? null : JSON.stringify(metadata),
  );
}

/** Deletes a conversation and its messages (owner only), audited as `chat.conversation_delete`. */
export function deleteConversation(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string },
): Promise<void> {
  return ctx.atomic(async (tx) => {
    const row = await tx.db
      .deleteFrom('conversations')
      .where('user_id', '=', input.userId)
      .where('id', '=', input.conversationId)
      .returning('id')
      .executeTakeFirst();
    if (row === undefined) {
      await assertConversationOwner(tx, input.userId, input.conversationId);
      throw new NotFoundError('conversation');
    }
    await recordAudit(tx, {
      action: 'chat.conversation_delete',
      resourceType: 'conversation',
      resourceId: row.id,
      subjectId: input.userId,
    });
  });
}
