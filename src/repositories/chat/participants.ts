import { ConstraintViolationError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { ParticipantRole } from '../../schema/chat.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { assertParticipant } from './ownership.js';
import type { ConversationParticipant } from './sharing-inputs.js';

interface ParticipantRow {
  conversation_id: string;
  user_id: string;
  role: ParticipantRole;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ['conversation_id', 'user_id', 'role', 'created_at', 'updated_at'] as const;

function toParticipant(row: ParticipantRow): ConversationParticipant {
  return {
    conversationId: row.conversation_id,
    userId: row.user_id,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function ownerRefused(): ValidationError {
  return new ValidationError('invalid participantId: the conversation owner is always a participant', [
    { path: ['participantId'], message: 'is the conversation owner', code: 'custom' },
  ]);
}

/**
 * Adds `participantId` to a conversation as `member` or `viewer` (or changes the role of a
 * participant already in it), owner only; audited as `chat.participant_add` (or
 * `chat.participant_role` for a role change) in the same transaction, naming the participant and
 * roles, never content. Throws `ForbiddenError` (caller not the owner), `NotFoundError`
 * (conversation, or `user` for an unknown participant), `ValidationError` for the owner.
 */
export function addParticipant(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string; participantId: string; role: 'member' | 'viewer' },
): Promise<ConversationParticipant> {
  if (input.participantId === input.userId) return Promise.reject(ownerRefused());
  return ctx.atomic(async (tx) => {
    const { ownerId } = await assertParticipant(tx, input.userId, input.conversationId, 'owner');
    const previous = await tx.db
      .selectFrom('conversation_participants')
      .select('role')
      .where('conversation_id', '=', input.conversationId)
      .where('user_id', '=', input.participantId)
      .forUpdate()
      .executeTakeFirst();
    let row: ParticipantRow;
    try {
      row = await tx.db
        .insertInto('conversation_participants')
        .values({
          conversation_id: input.conversationId,
          user_id: input.participantId,
          owner_id: ownerId,
          role: input.role,
          created_at: tx.now(),
          updated_at: tx.now(),
        })
        .onConflict((conflict) =>
          conflict.columns(['conversation_id', 'user_id']).doUpdateSet({ role: input.role }),
        )
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
        throw new NotFoundError('user', { cause: error });
      }
      throw error;
    }
    if (previous?.role !== input.role) {
      await recordAudit(tx, {
        action: previous === undefined ? 'chat.participant_add' : 'chat.participant_role',
        resourceType: 'conversation',
        resourceId: input.conversationId,
        subjectId: ownerId,
        changes: {
          participantId: input.participantId,
          role: { from: previous?.role ?? null, to: input.role },
        },
      });
    }
    return toParticipant(row);
  });
}

/**
 * Removes a participant: the owner removes anyone but themselves, any participant may leave.
 * Returns false when `participantId` was not a participant. Audited as
 * `chat.participant_remove` in the same transaction. Throws `ForbiddenError` / `NotFoundError`,
 * `ValidationError` for removing the owner.
 */
export function removeParticipant(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string; participantId: string },
): Promise<boolean> {
  return ctx.atomic(async (tx) => {
    const leaving = input.participantId === input.userId;
    const caller = await assertParticipant(
      tx,
      input.userId,
      input.conversationId,
      leaving ? 'read' : 'owner',
    );
    if (input.participantId === caller.ownerId) throw ownerRefused();
    const removed = await tx.db
      .deleteFrom('conversation_participants')
      .where('conversation_id', '=', input.conversationId)
      .where('user_id', '=', input.participantId)
      .returning('role')
      .executeTakeFirst();
    if (removed === undefined) return false;
    await recordAudit(tx, {
      action: 'chat.participant_remove',
      resourceType: 'conversation',
      resourceId: input.conversationId,
      subjectId: caller.ownerId,
      changes: { participantId: input.participantId, role: { from: removed.role, to: null } },
    });
    return true;
  });
}

/** Every participant of a conversation, owner first; any participant may list them. */
export async function listParticipants(
  ctx: RepositoryContext,
  input: { userId: string; conversationId: string },
): Promise<ConversationParticipant[]> {
  await assertParticipant(ctx, input.userId, input.conversationId, 'read');
  const rows = await ctx.db
    .selectFrom('conversation_participants')
    .select(COLUMNS)
    .where('conversation_id', '=', input.conversationId)
    .orderBy((eb) => eb.case().when('role', '=', 'owner').then(0).else(1).end())
    .orderBy('created_at')
    .orderBy('user_id')
    .execute();
  return rows.map(toParticipant);
}
