import { NotFoundError, VersionConflictError } from '../../errors/errors.js';
import type { JsonValue } from '../../schema/audit.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { type Conversation, type ConversationRow, toConversation } from './chat-types.js';
import { CONVERSATION_COLUMNS } from './conversations.js';
import { assertParticipant } from './ownership.js';
import { conversationValues, openConversationRows } from './sealed-rows.js';

/** A parsed `updateConversation()` change (metadata already checked and serialized). */
export interface ConversationChange {
  readonly userId: string;
  readonly title: string | null | undefined;
  readonly status: string | undefined;
  /** Serialized JSON, `null` to clear, `undefined` to keep. */
  readonly metadata: string | null | undefined;
  readonly archived: boolean | undefined;
  readonly retainUntil: Date | null | undefined;
  readonly retentionDays: number | null | undefined;
  readonly expectedVersion: number | undefined;
}

function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/**
 * Applies `change` to a conversation (owner or member), under a row lock: with
 * `expectedVersion`, only while the conversation is at that version (else `VersionConflictError`,
 * nothing written). Bumps `version` and writes one `chat.conversation_update` audit entry in the
 * same transaction, naming the changed fields and the old and new status, archiving and retention
 * values; titles and metadata are content and appear by name only.
 */
export function updateConversation(
  ctx: RepositoryContext,
  conversationId: string,
  change: ConversationChange,
): Promise<Conversation> {
  return ctx.atomic(async (tx) => {
    const { ownerId } = await assertParticipant(tx, change.userId, conversationId, 'write');
    const current = await tx.db
      .selectFrom('conversations')
      .select(['version', 'status', 'archived_at', 'retain_until', 'retention_days'])
      .where('user_id', '=', ownerId)
      .where('id', '=', conversationId)
      .forUpdate()
      .executeTakeFirst();
    if (current === undefined) throw new NotFoundError('conversation');
    if (change.expectedVersion !== undefined && current.version !== change.expectedVersion) {
      throw new VersionConflictError('conversation', change.expectedVersion, current.version);
    }
    const archivedAt =
      change.archived === undefined
        ? current.archived_at
        : change.archived
          ? (current.archived_at ?? tx.now())
          : null;
    const row = (await tx.db
      .updateTable('conversations')
      .set({
        version: current.version + 1,
        ...(await contentValues(tx, ownerId, conversationId, change)),
        ...(change.status === undefined ? {} : { status: change.status }),
        ...(change.archived === undefined ? {} : { archived_at: archivedAt }),
        ...(change.retainUntil === undefined ? {} : { retain_until: change.retainUntil }),
        ...(change.retentionDays === undefined ? {} : { retention_days: change.retentionDays }),
      })
      .where('user_id', '=', ownerId)
      .where('id', '=', conversationId)
      .returning(CONVERSATION_COLUMNS)
      .executeTakeFirstOrThrow()) as ConversationRow;
    const fields = (
      ['title', 'status', 'metadata', 'archived', 'retainUntil', 'retentionDays'] as const
    ).filter((field) => change[field] !== undefined);
    const changes: Record<string, JsonValue> = {
      fields: [...fields],
      version: { from: current.version, to: row.version },
    };
    if (change.status !== undefined) changes.status = { from: current.status, to: row.status };
    if (change.archived !== undefined) {
      changes.archived = { from: current.archived_at !== null, to: row.archived_at !== null };
    }
    if (change.retainUntil !== undefined) {
      changes.retainUntil = { from: iso(current.retain_until), to: iso(row.retain_until) };
    }
    if (change.retentionDays !== undefined) {
      changes.retentionDays = { from: current.retention_days, to: row.retention_days };
    }
    await recordAudit(tx, {
      action: 'chat.conversation_update',
      resourceType: 'conversation',
      resourceId: conversationId,
      subjectId: ownerId,
      changes,
    });
    const [opened] = await openConversationRows(tx, [row]);
    return toConversation(opened as ConversationRow);
  });
}

/**
 * The title and metadata columns an update sets: as given; with encryption on (both are content,
 * sealed together), the envelope re-sealed with the new and the kept values.
 */
async function contentValues(
  tx: RepositoryContext,
  ownerId: string,
  conversationId: string,
  change: ConversationChange,
): Promise<{ title?: string | null; metadata?: JsonValue | null }> {
  if (change.title === undefined && change.metadata === undefined) return {};
  if (tx.config.encryption === undefined) {
    return {
      ...(change.title === undefined ? {} : { title: change.title }),
      ...(change.metadata === undefined ? {} : { metadata: change.metadata as JsonValue | null }),
    };
  }
  const stored = await tx.db
    .selectFrom('conversations')
    .select(['id', 'user_id', 'title', 'metadata'])
    .where('user_id', '=', ownerId)
    .where('id', '=', conversationId)
    .executeTakeFirstOrThrow();
  const [opened] = await openConversationRows(tx, [stored]);
  const title = change.title === undefined ? (opened?.title ?? null) : change.title;
  const kept = opened?.metadata ?? null;
  const metadata =
    change.metadata === undefined ? (kept === null ? null : JSON.stringify(kept)) : change.metadata;
  const sealed = await conversationValues(tx, ownerId, conversationId, title, metadata);
  return { title: sealed.title, metadata: sealed.metadata as JsonValue | null };
}
