import { sql } from 'kysely';
import { z } from 'zod';
import type { JsonValue } from '../../schema/audit.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import type { ChatPart } from './chat-parts.js';
import type { StoredParts } from './check-parts.js';
import { openConversationRows, openMessageRows } from './sealed-rows.js';
import { eraseUsage } from './usage.js';

/**
 * A user's chat history as plain JSON, for a data-subject access export.
 *
 * @example
 * ```ts
 * import type { ChatDataExport } from 'carebase';
 * const { chat }: { chat: ChatDataExport } = await cb.users.exportData(userId);
 * const messages = chat.conversations.reduce((sum, conversation) => sum + conversation.messages.length, 0);
 * console.log(`${chat.conversations.length} conversations, ${messages} messages`);
 * ```
 */
export interface ChatDataExport {
  readonly conversations: readonly {
    readonly id: string;
    readonly title: string | null;
    readonly isDefault: boolean;
    readonly metadata: JsonValue | null;
    readonly createdAt: string;
    readonly messages: readonly {
      readonly id: string;
      readonly clientId: string | null;
      readonly role: string;
      readonly content: string;
      /** The typed parts (`ChatMessage.parts`), or null. */
      readonly parts: readonly ChatPart[] | null;
      readonly metadata: JsonValue | null;
      readonly createdAt: string;
    }[];
  }[];
}

/**
 * What `eraseChatForUser` removed: counts of deleted conversations and messages.
 *
 * @example
 * <!-- snippet-preamble: declare const adminId: string; -->
 * ```ts
 * import type { ChatErasureCounts } from 'carebase';
 * const { chat }: { chat: ChatErasureCounts } = await cb.withActor({ userId: adminId }).users.erase(userId);
 * logger.info({ conversations: chat.conversations, messages: chat.messages }, 'chat history erased');
 * ```
 */
export interface ChatErasureCounts {
  readonly conversations: number;
  readonly messages: number;
}

const UserIdSchema = z.uuid();

/**
 * Collects every conversation and message of `userId` as JSON-serializable data (timestamps as
 * ISO strings with microseconds), for `cb.users.exportData`. Loads the whole history into memory:
 * for very large histories stream `cb.chat.export` instead. Not audited here (the caller audits
 * the data-subject export). Throws `ValidationError` for a malformed id.
 *
 * @example
 * ```ts
 * import { exportChatForUser } from './repositories/chat/data-subject.js';
 * const data = await exportChatForUser(cb.context, userId);
 * ```
 */
export async function exportChatForUser(ctx: RepositoryContext, userId: string): Promise<ChatDataExport> {
  const id = parseInput(UserIdSchema, userId, 'user id');
  const conversations = await ctx.db
    .selectFrom('conversations')
    .select([
      'id',
      'user_id',
      'title',
      'is_default',
      'metadata',
      sql.raw<string>(exactTimestamp('created_at')).as('created'),
    ])
    .where('user_id', '=', id)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
    .then((rows) => openConversationRows(ctx, rows));
  const messages = await ctx.db
    .selectFrom('chat_messages')
    .select([
      'id',
      'conversation_id',
      'client_id',
      'role',
      'content',
      'metadata',
      'parts',
      'user_id',
      'created_at',
      sql.raw<string>(exactTimestamp('created_at')).as('created'),
    ])
    .where('user_id', '=', id)
    .orderBy('conversation_id')
    .orderBy('created_at')
    .orderBy('id')
    .execute()
    .then((rows) =>
      openMessageRows(
        ctx,
        rows.map((row) => ({ ...row, parts: row.parts as StoredParts | null })),
      ),
    );
  const byConversation = new Map<string, ChatDataExport['conversations'][number]['messages'][number][]>();
  for (const m of messages) {
    let list = byConversation.get(m.conversation_id);
    if (list === undefined) {
      list = [];
      byConversation.set(m.conversation_id, list);
    }
    list.push({
      id: m.id,
      clientId: m.client_id,
      role: m.role,
      content: m.content,
      parts: m.parts?.parts ?? null,
      metadata: m.metadata,
      createdAt: m.created,
    });
  }
  return {
    conversations: conversations.map((c) => ({
      id: c.id,
      title: c.title,
      isDefault: c.is_default,
      metadata: c.metadata,
      createdAt: c.created,
      messages: byConversation.get(c.id) ?? [],
    })),
  };
}

/**
 * Deletes every conversation and message of `userId` and returns the counts, for
 * `cb.users.erase`. Runs on the caller's executor (join its transaction through `ctx`); not
 * audited here (the caller audits the erasure). Throws `ValidationError` for a malformed id.
 *
 * @example
 * ```ts
 * import { eraseChatForUser } from './repositories/chat/data-subject.js';
 * const { conversations, messages } = await eraseChatForUser(cb.context, userId);
 * ```
 */
export function eraseChatForUser(ctx: RepositoryContext, userId: string): Promise<ChatErasureCounts> {
  const id = parseInput(UserIdSchema, userId, 'user id');
  return ctx.atomic(async (tx) => {
    await eraseUsage(tx, id);
    const messages = await tx.db.deleteFrom('chat_messages').where('user_id', '=', id).executeTakeFirst();
    const conversations = await tx.db
      .deleteFrom('conversations')
      .where('user_id', '=', id)
      .executeTakeFirst();
    return { conversations: Number(conversations.numDeletedRows), messages: Number(messages.numDeletedRows) };
  });
}
