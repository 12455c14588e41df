import { sql } from 'kysely';
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
 * Deletes every message older than `olderThanDays` (by the configured clock) across all users,
 * honouring each conversation's override: `retention_days` replaces `olderThanDays` for its
 * conversation (shorter or longer), and `retain_until` in the future holds all of its messages.
 * Writes a `chat.retention` audit entry with the cutoff and counts, in one transaction. Messages
 * of conversations without an override go by the BRIN index on created_at, minus the (few)
 * overridden conversations; those are then swept one conversation at a time by the history index.
 */
export function applyRetention(ctx: RepositoryContext, olderThanDays: number): Promise<number> {
  return ctx.atomic(async (tx) => {
    const now = tx.now();
    const cutoff = new Date(now.getTime() - olderThanDays * 86_400_000);
    const { byDefault, byOverride } = tx.config.rls
      ? await retentionAsOwner(tx, cutoff, now)
      : await retentionStatements(tx, cutoff, now);
    const deleted = byDefault + byOverride;
    await recordAudit(tx, {
      action: 'chat.retention',
      resourceType: 'chat_history',
      metadata: { olderThanDays, cutoff: cutoff.toISOString(), deleted, deletedByOverride: byOverride },
    });
    return deleted;
  });
}

interface RetentionCounts {
  readonly byDefault: number;
  readonly byOverride: number;
}

/**
 * Under row-level security (`rls: true`) retention spans every user, so it runs the same two
 * deletes inside the owner's SECURITY DEFINER function `chat_apply_retention` (migration 0043).
 */
async function retentionAsOwner(tx: RepositoryContext, cutoff: Date, now: Date): Promise<RetentionCounts> {
  const fn = sql.id(tx.config.schema, 'chat_apply_retention');
  const { rows } = await sql<{ by_default: string; by_override: string }>`select by_default, by_override
    from ${fn}(${cutoff}, ${now})`.execute(tx.db);
  return { byDefault: Number(rows[0]?.by_default ?? 0), byOverride: Number(rows[0]?.by_override ?? 0) };
}

async function retentionStatements(tx: RepositoryContext, cutoff: Date, now: Date): Promise<RetentionCounts> {
  const messages = sql.id(tx.config.schema, 'chat_messages');
  const conversations = sql.id(tx.config.schema, 'conversations');
  const global = await sql`delete from ${messages} m
      where m.created_at < ${cutoff}
        and not exists (
          select 1 from ${conversations} c
          where c.user_id = m.user_id and c.id = m.conversation_id
            and (c.retention_days is not null or c.retain_until > ${now})
        )`.execute(tx.db);
  const overridden = await sql`delete from ${messages} m
      using ${conversations} c
      where c.retention_days is not null and (c.retain_until is null or c.retain_until <= ${now})
        and m.user_id = c.user_id and m.conversation_id = c.id
        and m.created_at < ${now}::timestamptz - c.retention_days * interval '1 day'`.execute(tx.db);
  return {
    byDefault: Number(global.numAffectedRows ?? 0n),
    byOverride: Number(overridden.numAffectedRows ?? 0n),
  };
}
