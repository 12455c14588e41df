import { isIP } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import { parseInput } from '../../validation/parse-input.js';
import { textProblem, truncateText } from '../../validation/text.js';
import { type AuditEntryInput, recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import { countFailedAttempt, spendFailedAttemptTime } from './failed-attempts.js';
import { hasConfirmedMfa, openMfaChallenge } from './mfa-challenge.js';
import type { PasswordHasher } from './password-hasher.js';
import { networkKey, type RateLimitedResult, type RateLimiter, sourceOf } from './rate-limiter.js';
import type { AuthenticateInput } from './user-inputs.js';
import { verifyStoredPassword } from './verify-stored.js';

/**
 * Why a login failed. Show the end user one generic message for `invalid_credentials`, `locked`
 * and `disabled`. `pending_approval` and `rejected` are only ever answered to the right password,
 * so they may be shown ("your registration awaits approval"). `rate_limited` comes with
 * `retryAfterMs`; `mfa_required` with the `challenge` for `users.mfa.verify`.
 *
 * @example
 * ```ts
 * const result = await cb.users.authenticate({ login, password, ip });
 * if (!result.ok && result.reason === 'locked') logger.warn({ login }, 'account locked after repeated failures');
 * ```
 */
export type AuthenticationFailure =
  | 'invalid_credentials'
  | 'locked'
  | 'disabled'
  | 'pending_approval'
  | 'rejected'
  | 'rate_limited'
  | 'mfa_required';

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
  | {
      readonly ok: false;
      readonly reason: Exclude<AuthenticationFailure, 'rate_limited' | 'mfa_required'>;
    }
  | RateLimitedResult
  | {
      readonly ok: false;
      readonly reason: 'mfa_required';
      /** Pass it to `cb.users.mfa.verify` with the user's code: single-use, expires at `expiresAt`. */
      readonly challenge: string;
      readonly expiresAt: Date;
    };

/** The failures that carry nothing but their reason. */
type PlainFailure = Exclude<AuthenticationFailure, 'rate_limited' | 'mfa_required'>;

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
  limiter: RateLimiter,
  input: AuthenticateInput,
): Promise<AuthenticationResult> {
  const parsed = readLogin(input);
  const { where, refused } = parsed;
  // The attempt takes its hit of the network's failure limit first (atomically: concurrent
  // attempts never pass the limit), and gives it back below when it is not a failure. Refused
  // before anything is looked up or verified (and not audited: the failures that reached the
  // limit were).
  const hit = await limiter.acquire('failure', networkKey(sourceOf(where.ip)));
  if (hit.limited !== undefined) return hit.limited;
  const login = parsed.login;
  const column = login?.includes('@') === true ? 'email' : 'username';
  const account =
    login === undefined
      ? undefined // a login PostgreSQL cannot even compare (NUL, lone surrogate): no account has it
      : await ctx.db
          .selectFrom('users')
          .select(['id', 'password_hash', 'status', 'locked_until', 'rejected_at'])
          .where(sql`lower(${sql.ref(column)})`, '=', sql<string>`lower(${login})`)
          .executeTakeFirst();
  const now = ctx.now();
  const usable = refused.length === 0 && textProblem(parsed.password) === undefined;
  const failure = (reason: AuthenticationFailure, userId?: string): AuditEntryInput => ({
    ...loginFailure(reason, userId, where),
    ...(refused.length === 0 ? {} : { metadata: { refusedFields: refused } }),
  });

  const fail = (reason: PlainFailure, userId?: string): Promise<AuthenticationResult> =>
    ctx.atomic(async (tx) => {
      if (reason !== 'invalid_credentials' && reason !== 'locked') await hit.release(tx);
      // An unknown login runs the counting update a wrong password runs (matching no row).
      if (userId === undefined) await spendFailedAttemptTime(tx);
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
  let legacy: string | undefined;
  // An attempt with a refused field fails (and counts) like a wrong password. (A password over 72
  // bytes never matches a plain bcrypt hash of an older version: see src/security/password-hashes/.)
  if (usable) {
    const check = await verifyStoredPassword(hasher, parsed.password, account.password_hash);
    matches = check.matches;
    legacy = check.legacy;
  } else await hasher.verifyDummy(parsed.password);

  if (!matches) {
    const counted = await countFailedAttempt(
      ctx,
      account.id,
      now,
      failure('invalid_credentials', account.id),
    );
    return { ok: false, reason: counted.locked ? 'locked' : 'invalid_credentials' };
  }
  // Only the right password learns that the account is pending, rejected or disabled.
  if (account.status === 'pending') return fail('pending_approval', account.id);
  if (account.status !== 'active')
    return fail(account.rejected_at === null ? 'disabled' : 'rejected', account.id);

  const rehash = hasher.needsRehash(account.password_hash) ? await hasher.hash(parsed.password) : undefined;
  if (await hasConfirmedMfa(ctx, account.id)) {
    // The password was right: the login completes with users.mfa.verify (wrong codes count
    // toward the same lockout, so the failure count is left as it is until then).
    return ctx.atomic(async (tx) => {
      await hit.release(tx);
      if (rehash !== undefined) {
        await tx.db
          .updateTable('users')
          .set({ password_hash: rehash })
          .where('id', '=', account.id)
          .execute();
      }
      const opened = await openMfaChallenge(tx, account.id);
      await recordAudit(tx, {
        action: 'user.login_challenge',
        resourceType: 'user',
        resourceId: account.id,
        subjectId: account.id,
        userId: null,
        actorType: 'user',
        outcomeDetail: 'mfa_required',
        ...where,
      });
      return { ok: false, reason: 'mfa_required', ...opened } as const;
    });
  }
  return ctx.atomic(async (tx) => {
    const row = await tx.db
      .updateTable('users')
      .set({
        failed_login_count: 0,
        lockout_count: 0,
        locked_until: null,
        last_login_at: now,
        // Only over the hash this login verified: a password changed concurrently is kept.
        ...(rehash === undefined
          ? {}
          : {
              password_hash: sql<string>`case when password_hash = ${account.password_hash} then ${rehash} else password_hash end`,
            }),
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
    await hit.release(tx);
    await recordAudit(tx, {
      action: 'user.login',
      resourceType: 'user',
      resourceId: row.id,
      subjectId: row.id,
      userId: row.id,
      actorType: 'user',
      ...(rehash === undefined
        ? {}
        : { metadata: legacy === undefined ? { rehashed: true } : { rehashed: true, upgradedFrom: legacy } }),
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
