import { sql } from 'kysely';
import { parseInput } from '../../errors/validation.js';
import { type AuditEntryInput, recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import type { PasswordHasher } from './password-hasher.js';
import { AuthenticateInput, PASSWORD_MAX_BYTES } from './user-inputs.js';

/**
 * Why a login failed. Show the end user one generic message for all three.
 *
 * @example
 * ```ts
 * const result = await cb.users.authenticate({ login, password, ip });
 * if (!result.ok && result.reason === 'locked') logger.warn({ login }, 'account locked after repeated failures');
 * ```
 */
export type AuthenticationFailure = 'invalid_credentials' | 'locked' | 'disabled';

/**
 * The result of `cb.users.authenticate`.
 *
 * @example
 * ```ts
 * import type { AuthenticationResult } from 'carebase';
 * const result: AuthenticationResult = await cb.users.authenticate({ login, password });
 * ```
 */
export type AuthenticationResult =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: AuthenticationFailure };

/**
 * Verifies a login. See `UsersRepository.authenticate` for the contract; this is its body.
 *
 * Timing: every path that does not verify the real hash (unknown login, locked account,
 * over-long password) verifies against a dummy hash of the configured cost instead, and every
 * failure writes its audit entry in a transaction, so the paths take the same time.
 */
export async function authenticate(
  ctx: RepositoryContext,
  hasher: PasswordHasher,
  input: AuthenticateInput,
): Promise<AuthenticationResult> {
  const parsed = parseInput(AuthenticateInput, input, 'login');
  const where: Pick<AuditEntryInput, 'ip' | 'userAgent'> = {
    ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
    ...(parsed.userAgent === undefined ? {} : { userAgent: parsed.userAgent }),
  };
  const column = parsed.login.includes('@') ? 'email' : 'username';
  const account = await ctx.db
    .selectFrom('users')
    .select(['id', 'password_hash', 'status', 'locked_until'])
    .where(sql`lower(${sql.ref(column)})`, '=', sql<string>`lower(${parsed.login})`)
    .executeTakeFirst();
  const now = ctx.now();
  const usable =
    Buffer.byteLength(parsed.password, 'utf8') <= PASSWORD_MAX_BYTES && !parsed.password.includes('\0');

  const fail = (reason: AuthenticationFailure, userId?: string): Promise<AuthenticationResult> =>
    ctx.atomic(async (tx) => {
      await recordAudit(tx, loginFailure(reason, userId, where));
      return { ok: false, reason };
    });

  if (account === undefined) {
    await hasher.verifyDummy(parsed.password);
    return fail('invalid_credentials');
  }
  if (account.locked_until !== null && account.locked_until > now) {
    // A locked account never reveals whether the password was right.
    await hasher.verifyDummy(parsed.password);
    return fail('locked', account.id);
  }
  let matches = false;
  // An over-long password could match on its first 72 bytes (bcrypt truncates): never accept it.
  if (usable) matches = await hasher.verify(parsed.password, account.password_hash);
  else await hasher.verifyDummy(parsed.password);

  if (!matches) return countFailure(ctx, account.id, now, where);
  if (account.status !== 'active') return fail('disabled', account.id);

  const rehash = hasher.needsRehash(account.password_hash) ? await hasher.hash(parsed.password) : undefined;
  return ctx.atomic(async (tx) => {
    const row = await tx.db
      .updateTable('users')
      .set({
        failed_login_count: 0,
        locked_until: null,
        last_login_at: now,
        ...(rehash === undefined ? {} : { password_hash: rehash }),
      })
      .where('id', '=', account.id)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning(USER_COLUMNS)
      .executeTakeFirst();
    if (row === undefined) {
      // Locked (or disabled) by a concurrent request between the read and this write.
      await recordAudit(tx, loginFailure('locked', account.id, where));
      return { ok: false, reason: 'locked' } as const;
    }
    await recordAudit(tx, {
      action: 'user.login',
      resourceType: 'user',
      resourceId: row.id,
      subjectId: row.id,
      userId: row.id,
      actorType: 'user',
      ...(rehash === undefined ? {} : { metadata: { rehashed: true } }),
      ...where,
    });
    return { ok: true, user: toUser(row) } as const;
  });
}

/**
 * Counts one failed login in a single `UPDATE ... RETURNING`, so concurrent failures serialize on
 * the row lock: the row is only updated while not locked, the update that reaches
 * `lockout.maxFailures` sets `locked_until`, and later ones find it locked and count nothing.
 * An expired lock starts a fresh count.
 */
async function countFailure(
  ctx: RepositoryContext,
  userId: string,
  now: Date,
  where: Pick<AuditEntryInput, 'ip' | 'userAgent'>,
): Promise<AuthenticationResult> {
  const { maxFailures, durationMs } = ctx.config.users.lockout;
  const lockedUntil = new Date(now.getTime() + durationMs);
  return ctx.atomic(async (tx) => {
    const nextCount = sql<number>`case when locked_until is not null then 1 else failed_login_count + 1 end`;
    const row = await tx.db
      .updateTable('users')
      .set({
        failed_login_count: nextCount,
        locked_until: sql<Date | null>`case when ${nextCount} >= ${maxFailures} then ${lockedUntil}::timestamptz else null end`,
      })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning(['failed_login_count', 'locked_until'])
      .executeTakeFirst();
    if (row === undefined) {
      await recordAudit(tx, loginFailure('locked', userId, where));
      return { ok: false, reason: 'locked' } as const;
    }
    await recordAudit(tx, {
      ...loginFailure('invalid_credentials', userId, where),
      metadata: { consecutiveFailures: row.failed_login_count },
    });
    if (row.locked_until === null) return { ok: false, reason: 'invalid_credentials' } as const;
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
    return { ok: false, reason: 'locked' } as const;
  });
}

function loginFailure(
  reason: AuthenticationFailure,
  userId: string | undefined,
  where: Pick<AuditEntryInput, 'ip' | 'userAgent'>,
): AuditEntryInput {
  // The login string itself is never recorded: it may be someone's email, or a password typed
  // into the wrong field.
  return {
    action: 'user.login',
    resourceType: 'user',
    ...(userId === undefined ? {} : { resourceId: userId, subjectId: userId }),
    userId: null,
    actorType: 'user',
    outcome: 'failure',
    outcomeDetail: reason,
    ...where,
  };
}
