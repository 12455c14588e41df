import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { ConstraintViolationError, NotFoundError } from '../../errors/errors.js';
import { PLACEHOLDER_UUID } from '../../pool/prepared-statements.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { type ChatPage, type Conversation, type ConversationRow, toConversation } from './chat-types.js';
import { assertConversationOwner } from './ownership.js';
import { conversationValues, openConversationRows } from './sealed-rows.js';

const COLUMNS = [
  'id',
  'user_id',
  'title',
  'is_default',
  'metadata',
  'last_message_at',
  'created_at',
  'updated_at',
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
        .returning(COLUMNS)
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

/** Returns the conversation, or throws `NotFoundError` / `ForbiddenError`. */
export async function getConversation(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
): Promise<Conversation> {
  const statement = ctx.runtime.prepared.compiled(
    'chat.get-conversation',
    () =>
      ctx.runtime.db
        .selectFrom('conversations')
        .select(COLUMNS)
        .where('user_id', '=', PLACEHOLDER_UUID)
        .where('id', '=', PLACEHOLDER_UUID)
        .compile(),
    2,
  );
  const [row] = await ctx.runPrepared<ConversationRow>({
    sql: statement.sql,
    parameters: [userId, conversationId],
  });
  if (row === undefined) {
    await assertConversationOwner(ctx, userId, conversationId);
    throw new NotFoundError('conversation');
  }
  const [opened] = await openConversationRows(ctx, [row]);
  return toConversation(opened as ConversationRow);
}

/**
 * One page of a user's conversations, most recent activity first: keyset over
 * (last_message_at DESC, id DESC) on conversations_user_activity_idx.
 */
export async function listConversations(
  ctx: RepositoryContext,
  input: { userId: string; limit: number; cursor: string | undefined },
): Promise<ChatPage<Conversation>> {
  let query = ctx.db
    .selectFrom('conversations')
    .select([...COLUMNS, sql.raw<string>(exactTimestamp('last_message_at')).as('sort_key')])
    .where('user_id', '=', input.userId);
  if (input.cursor !== undefined) {
    const position = decodeCursor(CONVERSATIONS_CURSOR, input.cursor);
    query = query.where(
      sql<boolean>`(last_message_at, id) < (${position.key}::timestamptz, ${position.id}::uuid)`,
    );
  }
  const rows = await query
    .orderBy('last_message_at', 'desc')
    .orderBy('id', 'desc')
    .limit(input.limit + 1)
    .execute();
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

/** Renames a conversation (title `null` clears it), audited as `chat.conversation_rename`. */
export function renameConversation(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string; title: string | null },
): Promise<Conversation> {
  return ctx.atomic(async (tx) => {
    const row = await tx.db
      .updateTable('conversations')
      .set(await renamedValues(tx, input))
      .where('user_id', '=', input.userId)
      .where('id', '=', input.conversationId)
      .returning(COLUMNS)
      .executeTakeFirst();
    if (row === undefined) {
      await assertConversationOwner(tx, input.userId, input.conversationId);
      throw new NotFoundError('conversation');
    }
    await recordAudit(tx, {
      action: 'chat.conversation_rename',
      resourceType: 'conversation',
      resourceId: row.id,
      subjectId: input.userId,
    });
    const [opened] = await openConversationRows(tx, [row]);
    return toConversation(opened as ConversationRow);
  });
}

/**
 * The columns a rename sets: the title; with encryption on, the envelope re-sealed with the new
 * title and the stored metadata (read under a row lock, in the rename's transaction).
 */
async function renamedValues(
  tx: RepositoryContext,
  input: { userId: string; conversationId: string; title: string | null },
): Promise<{ title: string | null; metadata?: string | null }> {
  if (tx.config.encryption === undefined) return { title: input.title };
  const current = await tx.db
    .selectFrom('conversations')
    .select(COLUMNS)
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

/** Deletes a conversation and its messages, audited as `chat.conversation_delete`. */
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
