import { ForbiddenError, NotFoundError } from '../../errors/errors.js';
import type { ParticipantRole } from '../../schema/chat.js';
import type { RepositoryContext } from '../context.js';
import { preparedQuery } from './sql-text.js';

/**
 * What a call needs of its caller's participation: `read` (any participant), `write` (owner or
 * member) or `owner`.
 */
export type ChatAccess = 'read' | 'write' | 'owner';

/** A caller's participation in a conversation, once checked. */
export interface Participation {
  /** The conversation's owner: the key its messages are stored under. */
  readonly ownerId: string;
  readonly role: ParticipantRole;
}

const ALLOWED: Record<ChatAccess, readonly ParticipantRole[]> = {
  read: ['owner', 'member', 'viewer'],
  write: ['owner', 'member'],
  owner: ['owner'],
};

/**
 * Checks that `userId` takes part in `conversationId` with a role that allows `access`, and
 * returns the conversation's owner and the caller's role. Throws `NotFoundError('conversation')`
 * when the conversation does not exist, `ForbiddenError('conversation')` when the caller is not a
 * participant or its role does not allow `access` (a viewer writing, a member doing an owner's
 * action). One round trip: conversations_id_idx and the participants' primary key.
 */
export async function assertParticipant(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
  access: ChatAccess,
): Promise<Participation> {
  const query = preparedQuery<{ owner_id: string; role: ParticipantRole | null }>(
    ctx,
    'participation',
    (t) => `select c.user_id as owner_id, p.role
from ${t('conversations')} c
left join ${t('conversation_participants')} p on p.conversation_id = c.id and p.user_id = $2::uuid
where c.id = $1::uuid`,
    [conversationId, userId],
  );
  const [row] = await ctx.runPrepared<{ owner_id: string; role: ParticipantRole | null }>(query);
  if (row === undefined) throw new NotFoundError('conversation');
  if (row.role === null || !ALLOWED[access].includes(row.role)) throw new ForbiddenError('conversation');
  return { ownerId: row.owner_id, role: row.role };
}

/**
 * Checks that `conversationId` exists and belongs to `userId` (its owner). Throws `NotFoundError`
 * (`conversation`) when it does not exist and `ForbiddenError` when the user is not its owner.
 */
export async function assertConversationOwner(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
): Promise<void> {
  await assertParticipant(ctx, userId, conversationId, 'owner');
}

/**
 * After a write referencing conversations failed on a foreign key (or found no participation),
 * finds which reference was bad and throws the matching typed error: `NotFoundError('user')` for
 * a missing user, `NotFoundError('conversation')` for a missing conversation, `ForbiddenError` for
 * a conversation the user may not write to (not a participant, or a viewer). Returns normally when
 * every reference is valid (the caller then rethrows the original error). Reads on `ctx`'s
 * executor: inside a transaction, the failed statement ran in a savepoint that was rolled back, so
 * the transaction is usable again.
 */
export async function explainReferenceFailure(
  ctx: RepositoryContext,
  references: readonly { readonly userId: string; readonly conversationId: string | undefined }[],
): Promise<void> {
  const conversationIds = [
    ...new Set(references.flatMap((ref) => (ref.conversationId === undefined ? [] : [ref.conversationId]))),
  ];
  const existing = new Set<string>();
  const writers = new Set<string>();
  if (conversationIds.length > 0) {
    const rows = await ctx.db
      .selectFrom('conversations as c')
      .leftJoin('conversation_participants as p', (join) =>
        join.onRef('p.conversation_id', '=', 'c.id').on('p.role', '<>', 'viewer'),
      )
      .select(['c.id', 'p.user_id'])
      .where('c.id', 'in', conversationIds)
      .execute();
    for (const row of rows) {
      existing.add(row.id);
      if (row.user_id !== null) writers.add(`${row.id}\u0000${row.user_id}`);
    }
  }
  for (const ref of references) {
    if (ref.conversationId === undefined) continue;
    if (!existing.has(ref.conversationId)) throw new NotFoundError('conversation');
    if (!writers.has(`${ref.conversationId}\u0000${ref.userId}`)) throw new ForbiddenError('conversation');
  }
  const userIds = [...new Set(references.map((ref) => ref.userId))];
  const users = await ctx.db.selectFrom('users').select('id').where('id', 'in', userIds).execute();
  if (users.length < userIds.length) throw new NotFoundError('user');
}
