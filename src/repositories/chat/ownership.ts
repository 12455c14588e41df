import { ForbiddenError, NotFoundError } from '../../errors/errors.js';
import { PLACEHOLDER_UUID } from '../../pool/prepared-statements.js';
import type { RepositoryContext } from '../context.js';

/**
 * Checks that `conversationId` exists and belongs to `userId`. Throws `NotFoundError`
 * (`conversation`) when it does not exist and `ForbiddenError` when another user owns it.
 * Served by `conversations_id_idx`.
 */
export async function assertConversationOwner(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
): Promise<void> {
  const owner = ctx.runtime.prepared.compiled(
    'chat.conversation-owner',
    () =>
      ctx.runtime.db
        .selectFrom('conversations')
        .select('user_id')
        .where('id', '=', PLACEHOLDER_UUID)
        .compile(),
    1,
  );
  const [row] = await ctx.runPrepared<{ user_id: string }>({ sql: owner.sql, parameters: [conversationId] });
  if (row === undefined) throw new NotFoundError('conversation');
  if (row.user_id !== userId) throw new ForbiddenError('conversation');
}

/**
 * After a write referencing conversations failed on a foreign key, finds which reference was
 * bad and throws the matching typed error: `NotFoundError('user')` for a missing user,
 * `NotFoundError('conversation')` for a missing conversation, `ForbiddenError` for a
 * conversation owned by someone else. Returns normally when every reference is valid (the caller
 * then rethrows the original error). Reads on `ctx`'s executor: inside a transaction, the failed
 * statement ran in a savepoint that was rolled back, so the transaction is usable again.
 */
export async function explainReferenceFailure(
  ctx: RepositoryContext,
  references: readonly { readonly userId: string; readonly conversationId: string | undefined }[],
): Promise<void> {
  const conversationIds = [
    ...new Set(references.flatMap((ref) => (ref.conversationId === undefined ? [] : [ref.conversationId]))),
  ];
  const owners = new Map<string, string>();
  if (conversationIds.length > 0) {
    const rows = await ctx.db
      .selectFrom('conversations')
      .select(['id', 'user_id'])
      .where('id', 'in', conversationIds)
      .execute();
    for (const row of rows) owners.set(row.id, row.user_id);
  }
  for (const ref of references) {
    if (ref.conversationId === undefined) continue;
    const owner = owners.get(ref.conversationId);
    if (owner === undefined) throw new NotFoundError('conversation');
    if (owner !== ref.userId) throw new ForbiddenError('conversation');
  }
  const userIds = [...new Set(references.map((ref) => ref.userId))];
  const users = await ctx.db.selectFrom('users').select('id').where('id', 'in', userIds).execute();
  if (users.length < userIds.length) throw new NotFoundError('user');
}
