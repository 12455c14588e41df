import { ConflictError, NotFoundError } from '../../errors/errors.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';

/**
 * `users.approve`: a pending (or rejected) registration becomes active. An account an admin
 * deactivated is not "approved" back: that is `reactivate`, refused here with `ConflictError`
 * (field `status`). Idempotent for an active account. Audited as `user.approve`.
 */
export async function approveUser(ctx: RepositoryContext, userId: string): Promise<User> {
  return ctx.atomic(async (tx) => {
    const before = await tx.db
      .selectFrom('users')
      .select(['status', 'rejected_at'])
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (before === undefined) throw new NotFoundError('user');
    if (before.status === 'disabled' && before.rejected_at === null) throw new ConflictError('status');
    if (before.status === 'active') {
      return toUser(
        await tx.db
          .selectFrom('users')
          .select(USER_COLUMNS)
          .where('id', '=', userId)
          .executeTakeFirstOrThrow(),
      );
    }
    const row = await tx.db
      .updateTable('users')
      .set({ status: 'active', approved_at: tx.now(), rejected_at: null, rejection_reason: null })
      .where('id', '=', userId)
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
    await recordAudit(tx, {
      action: 'user.approve',
      resourceType: 'user',
      resourceId: userId,
      subjectId: userId,
      changes: { status: { from: before.status, to: 'active' } },
    });
    return toUser(row);
  });
}

/**
 * `users.reject`: a pending registration is refused: status `disabled` with `rejected_at` (and the
 * reason, kept for the admin and audited). Only pending accounts can be rejected (`ConflictError`
 * with field `status` otherwise; use `deactivate` for an active one). Audited as `user.reject`.
 */
export async function rejectUser(
  ctx: RepositoryContext,
  userId: string,
  reason: string | undefined,
): Promise<User> {
  return ctx.atomic(async (tx) => {
    const now = tx.now();
    const row = await tx.db
      .updateTable('users')
      .set({ status: 'disabled', rejected_at: now, rejection_reason: reason ?? null })
      .where('id', '=', userId)
      .where('status', '=', 'pending')
      .returning(USER_COLUMNS)
      .executeTakeFirst();
    if (row === undefined) {
      const exists = await tx.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (exists === undefined) throw new NotFoundError('user');
      throw new ConflictError('status');
    }
    await recordAudit(tx, {
      action: 'user.reject',
      resourceType: 'user',
      resourceId: userId,
      subjectId: userId,
      changes: { status: { from: 'pending', to: 'disabled' } },
      ...(reason === undefined ? {} : { metadata: { reason } }),
    });
    return toUser(row);
  });
}
