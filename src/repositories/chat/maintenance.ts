import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { assertConversationOwner } from './ownership.js';

/**
 * Deletes a user's messages (one conversation, or all; conversations stay) and writes a
 * `chat.clear` audit entry with the count, in one transaction. Returns the number deleted.
 */
export function clearMessages(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string | undefined,
): Promise<number> {
  return ctx.atomic(async (tx) => {
    if (conversationId !== undefined) await assertConversationOwner(tx, userId, conversationId);
    let query = tx.db.deleteFrom('chat_messages').where('user_id', '=', userId);
    if (conversationId !== undefined) query = query.where('conversation_id', '=', conversationId);
    const result = await query.executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    await recordAudit(tx, {
      action: 'chat.clear',
      resourceType: conversationId === undefined ? 'chat_history' : 'conversation',
      resourceId: conversationId ?? userId,
      subjectId: userId,
      metadata: { deleted },
    });
    return deleted;
  });
}

/**
 * Deletes every message older than `olderThanDays` (by the configured clock) across all users
 * and writes a `chat.retention` audit entry with the cutoff and count, in one transaction.
 * Served by the BRIN index on created_at.
 */
export function applyRetention(ctx: RepositoryContext, olderThanDays: number): Promise<number> {
  return ctx.atomic(async (tx) => {
    const cutoff = new Date(tx.now().getTime() - olderThanDays * 86_400_000);
    const result = await tx.db
      .deleteFrom('chat_messages')
      .where('created_at', '<', cutoff)
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    await recordAudit(tx, {
      action: 'chat.retention',
      resourceType: 'chat_history',
      metadata: { olderThanDays, cutoff: cutoff.toISOString(), deleted },
    });
    return deleted;
  });
}
