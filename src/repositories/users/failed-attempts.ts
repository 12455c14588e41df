import { sql } from 'kysely';
import { type AuditEntryInput, recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';

/**
 * Counts one failed password check of an account (a failed login, or a wrong `currentPassword` in
 * `changePassword`) in a single `UPDATE ... RETURNING`, so concurrent failures serialize on the
 * row lock: the row is only updated while not locked, the update that reaches
 * `lockout.maxFailures` sets `locked_until`, and later ones find it locked and count nothing. An
 * expired lock starts a fresh count. Records `failure` (with `consecutiveFailures` added to its
 * metadata) and, when this failure locks the account, `user.lockout`, in the same transaction.
 * Returns whether the account is locked now.
 */
export async function countFailedAttempt(
  ctx: RepositoryContext,
  userId: string,
  now: Date,
  failure: AuditEntryInput,
): Promise<{ readonly locked: boolean }> {
  const { maxFailures, durationMs, escalation, maxDurationMs } = ctx.config.users.lockout;
  // The n-th lockout since the last successful login lasts durationMs * escalation^(n-1), capped.
  const lockMs = sql<number>`least(${durationMs}::float8 * power(${escalation}::float8, lockout_count), ${maxDurationMs}::float8)`;
  const where = {
    ...(failure.ip === undefined ? {} : { ip: failure.ip }),
    ...(failure.userAgent === undefined ? {} : { userAgent: failure.userAgent }),
  };
  return ctx.atomic(async (tx) => {
    const nextCount = sql<number>`case when locked_until is not null then 1 else failed_login_count + 1 end`;
    const row = await tx.db
      .updateTable('users')
      .set({
        failed_login_count: nextCount,
        locked_until: sql<Date | null>`case when ${nextCount} >= ${maxFailures} then ${now}::timestamptz + make_interval(secs => ${lockMs} / 1000) else null end`,
        lockout_count: sql<number>`case when ${nextCount} >= ${maxFailures} then lockout_count + 1 else lockout_count end`,
      })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning(['failed_login_count', 'locked_until'])
      .executeTakeFirst();
    if (row === undefined) {
      await recordAudit(tx, { ...failure, outcomeDetail: 'locked' });
      return { locked: true };
    }
    await recordAudit(tx, {
      ...failure,
      metadata: { ...failure.metadata, consecutiveFailures: row.failed_login_count },
    });
    if (row.locked_until === null) return { locked: false };
    await recordAudit(tx, {
      action: 'user.lockout',
      resourceType: 'user',
      resourceId: userId,
      subjectId: userId,
      userId: null,
      actorType: 'system',
      outcomeDetail: 'too_many_failed_logins',
      metadata: { consecutiveFailures: row.failed_login_count, lockedUntil: row.locked_until.toISOString() },
      ...where,
    });
    return { locked: true };
  });
}

/** An id no account has: the equal-work update of an unknown login matches nothing. */
const NO_ACCOUNT = '00000000-0000-0000-0000-000000000000';

/**
 * The database work of {@link countFailedAttempt}'s counting update, for a failure that names no
 * account (an unknown login or MFA challenge): the same UPDATE ... RETURNING on `users`, matching
 * no row, so unknown and wrong answers take the same round trips. Call it inside the failure's
 * transaction.
 */
export async function spendFailedAttemptTime(tx: RepositoryContext): Promise<void> {
  await tx.db
    .updateTable('users')
    .set({ failed_login_count: sql<number>`failed_login_count + 1` })
    .where('id', '=', NO_ACCOUNT)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', new Date(0))]))
    .returning(['failed_login_count', 'locked_until'])
    .execute();
}
