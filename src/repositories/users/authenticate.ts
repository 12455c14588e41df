import { isIP } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import { parseInput } from '../../validation/parse-input.js';
import { textProblem, truncateText } from '../../validation/text.js';
import { type AuditEntryInput, recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import { countFailedAttempt } from './failed-attempts.js';
import type { PasswordHasher } from './password-hasher.js';
import { type AuthenticateInput, PASSWORD_MAX_BYTES } from './user-inputs.js';

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
  const parsed = readLogin(input);
  const { where, refused } = parsed;
  const login = parsed.login;
  const column = login?.includes('@') === true ? 'email' : 'username';
  const account =
    login === undefined
      ? undefined // a login PostgreSQL cannot even compare (NUL, lone surrogate): no account has it
      : await ctx.db
          .selectFrom('users')
          .select(['id', 'password_hash', 'status', 'locked_until'])
          .where(sql`lower(${sql.ref(column)})`, '=', sql<string>`lower(${login})`)
          .executeTakeFirst();
  const now = ctx.now();
  const usable =
    refused.length === 0 &&
    Buffer.byteLength(parsed.password, 'utf8') <= PASSWORD_MAX_BYTES &&
    textProblem(parsed.password) === undefined;
  const failure = (reason: AuthenticationFailure, userId?: string): AuditEntryInput => ({
    ...loginFailure(reason, userId, where),
    ...(refused.length === 0 ? {} : { metadata: { refusedFields: refused } }),
  });

  const fail = (reason: AuthenticationFailure, userId?: string): Promise<AuthenticationResult> =>
    ctx.atomic(async (tx) => {
      await recordAudit(tx, failure(reason, userId));
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
  // Nor any attempt with a refused field: it fails (and counts) like a wrong password.
  if (usable) matches = await hasher.verify(parsed.password, account.password_hash);
  else await hasher.verifyDummy(parsed.password);

  if (!matches) {
    const counted = await countFailedAttempt(
      ctx,
      account.id,
      now,
      failure('invalid_credentials', account.id),
    );
    return { ok: false, reason: counted.locked ? 'locked' : 'invalid_credentials' };
  }
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

export function loginFailure(
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

/** A login as read by {@link readLogin}: refused fields are named, never passed on. */
interface LoginAttempt {
  /** The trimmed login, or `undefined` when it is refused (it then matches no account). */
  readonly login: string | undefined;
  readonly password: string;
  /** The IP and user agent to audit: only those that were accepted. */
  readonly where: Pick<AuditEntryInput, 'ip' | 'userAgent'>;
  /** Names of the fields refused (bad text, malformed IP, over-long): the attempt then fails. */
  readonly refused: readonly string[];
}

/**
 * Reads a login: the shape (an object with string `login` and `password`, optional string `ip` and
 * `userAgent`, nothing else) is validated as usual (ValidationError before any SQL). The contents
 * are not: a hostile login, password, IP or user agent (NUL, lone surrogate, over-long, malformed)
 * makes the attempt fail like a wrong password, counted and audited without the refused value.
 */
function readLogin(input: unknown): LoginAttempt {
  const shape = parseInput(LoginSchema, input, 'login', { sweep: false });
  const refused: string[] = [];
  const login = shape.login.trim();
  const loginOk = login.length >= 1 && login.length <= 320 && textProblem(login) === undefined;
  if (!loginOk) refused.push('login');
  if (shape.password.length > 1024 || textProblem(shape.password) !== undefined) refused.push('password');
  const where: { ip?: string; userAgent?: string } = {};
  if (shape.ip !== undefined) {
    if (isIP(shape.ip) !== 0) where.ip = shape.ip;
    else refused.push('ip');
  }
  if (shape.userAgent !== undefined) {
    if (textProblem(shape.userAgent) === undefined) where.userAgent = truncateText(shape.userAgent, 512);
    else refused.push('userAgent');
  }
  return { login: loginOk ? login : undefined, password: shape.password, where, refused };
}

const LoginSchema = z.strictObject({
  login: z.string(),
  password: z.string(),
  ip: z.string().optional(),
  userAgent: z.string().optional(),
});
