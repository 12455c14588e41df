import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../errors/errors.js';
import { openSecret, sealSecret } from '../../security/secret-box.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { hashSessionToken, SESSION_TOKEN_PATTERN } from '../sessions/session-token.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import { countFailedAttempt, spendFailedAttemptTime } from './failed-attempts.js';
import { networkKey, type RateLimitedResult, type RateLimiter, sourceOf } from './rate-limiter.js';
import {
  backupCodeHash,
  mfaKeyring,
  newBackupCodes,
  newTotpSecret,
  normaliseBackupCode,
  totpStep,
  totpUri,
} from './totp.js';
import { UserIdSchema } from './user-inputs.js';

/**
 * A TOTP enrolment to show once: the secret (base32, for manual entry) and the `otpauth://` URI
 * (for a QR code). Nothing is active until `confirmTotpEnrollment` gets a code from the app.
 *
 * @example
 * ```ts
 * import type { TotpEnrollment } from 'carebase';
 * const { uri }: TotpEnrollment = await cb.users.mfa.beginTotpEnrollment(userId);
 * ```
 */
export interface TotpEnrollment {
  readonly secret: string;
  readonly uri: string;
}

/**
 * The outcome of `users.mfa.verify`. On success, pass `mfaAt` to `sessions.create`.
 *
 * @example
 * ```ts
 * import type { MfaVerifyResult } from 'carebase';
 * const ok = (result: MfaVerifyResult) => result.ok;
 * ```
 */
export type MfaVerifyResult =
  | { readonly ok: true; readonly user: User; readonly mfaAt: Date; readonly method: 'totp' | 'backup_code' }
  | { readonly ok: false; readonly reason: 'invalid_code' | 'invalid_challenge' | 'locked' }
  | RateLimitedResult;

/**
 * Input of `cb.users.mfa.verify`.
 *
 * @example
 * <!-- snippet-preamble: declare const challenge: string; -->
 * ```ts
 * import { MfaVerifyInputSchema } from 'carebase/schemas';
 * MfaVerifyInputSchema.parse({ challenge, code: '123456', ip: '203.0.113.7' });
 * ```
 */
export const MfaVerifyInputSchema = z.strictObject({
  /** The `challenge` of authenticate's `mfa_required` answer. */
  challenge: z.string().max(200),
  /** A 6-digit TOTP code or a backup code (six groups of four characters, any case, dashes optional). */
  code: z.string().max(64),
  ip: z.ipv4().or(z.ipv6()).optional(),
  userAgent: z.string().max(4096).optional(),
});
/**
 * Input of `cb.users.mfa.verify()`: the login challenge and the code the user typed. Validated by `MfaVerifyInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const challenge: string, code: string; -->
 * ```ts
 * import type { MfaVerifyInput } from 'carebase';
 * const input: MfaVerifyInput = { challenge, code, ip: '203.0.113.7' };
 * const result = await cb.users.mfa.verify(input);
 * ```
 */
export interface MfaVerifyInput {
  /** The `challenge` of authenticate's `mfa_required` answer. */
  readonly challenge: string;
  /** A 6-digit TOTP code or a backup code (six groups of four characters, any case, dashes optional). */
  readonly code: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/**
 * Multi-factor authentication: TOTP (RFC 6238, via `otpauth`) with ten single-use backup codes.
 * Secrets are encrypted at rest with `users.mfa.encryptionKey` (AES-256-GCM, user id as associated
 * data; rotatable). For an enrolled account `authenticate` answers `mfa_required` with a
 * challenge, and `verify` completes the login: a code is accepted once (never again in its
 * window), the challenge is single-use and expires, and wrong codes count toward the account's
 * lockout and the network's rate limit. Codes, secrets and challenges are never logged or audited.
 *
 * @example
 * ```ts
 * const result = await cb.users.authenticate({ login, password, ip: req.ip });
 * if (!result.ok && result.reason === 'mfa_required') {
 *   const mfa = await cb.users.mfa.verify({ challenge: result.challenge, code: req.body.code, ip: req.ip });
 *   if (mfa.ok) await cb.sessions.create({ userId: mfa.user.id, mfaAt: mfa.mfaAt });
 * }
 * ```
 */
export class MfaApi {
  readonly #ctx: RepositoryContext;
  readonly #limiter: RateLimiter;

  /** @internal Use `cb.users.mfa`. */
  constructor(ctx: RepositoryContext, limiter: RateLimiter) {
    this.#ctx = ctx;
    this.#limiter = limiter;
  }

  /**
   * Starts (or restarts) a TOTP enrolment: a new secret, stored encrypted and inactive until
   * confirmed. Audited as `user.mfa_enroll`.
   *
   * Throws `InvalidConfigurationError` without `users.mfa.encryptionKey`, `ConflictError` (field
   * `mfa`) when the account already has a confirmed enrolment (reset it first), `NotFoundError`
   * for an unknown user.
   *
   * @example
   * ```ts
   * const { uri } = await cb.users.mfa.beginTotpEnrollment(user.id); // render as a QR code
   * ```
   */
  async beginTotpEnrollment(userId: string): Promise<TotpEnrollment> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    const keyring = mfaKeyring(this.#ctx.config.users);
    const secret = newTotpSecret();
    const { keyId, sealed } = sealSecret(keyring, secret, id);
    return this.#ctx.atomic(async (ctx) => {
      const user = await ctx.db
        .selectFrom('users')
        .select(['username', 'email'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (user === undefined) throw new NotFoundError('user');
      const row = await ctx.db
        .insertInto('user_mfa')
        .values({ user_id: id, totp_secret: sealed, key_id: keyId, confirmed_at: null, last_used_step: null })
        .onConflict((oc) =>
          oc
            .column('user_id')
            .doUpdateSet({ totp_secret: sealed, key_id: keyId, last_used_step: null })
            .where('user_mfa.confirmed_at', 'is', null),
        )
        .returning('user_id')
        .executeTakeFirst();
      if (row === undefined) throw new ConflictError('mfa');
      await recordAudit(ctx, {
        action: 'user.mfa_enroll',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
      });
      const label = user.email;
      const { uri, base32 } = totpUri(secret, ctx.config.users.mfa.issuer, label);
      return { secret: base32, uri };
    });
  }

  /**
   * Confirms an enrolment with a code from the app: MFA is active from now on, and ten backup
   * codes are returned, once (only their digests are stored). Audited as `user.mfa_enable`.
   * Returns `{ ok: false, reason: 'invalid_code' }` for a wrong code.
   *
   * Throws `NotFoundError` when no enrolment awaits confirmation.
   *
   * @example
   * ```ts
   * const confirmed = await cb.users.mfa.confirmTotpEnrollment(user.id, req.body.code);
   * if (confirmed.ok) res.json({ backupCodes: confirmed.backupCodes }); // show once
   * ```
   */
  async confirmTotpEnrollment(
    userId: string,
    code: string,
  ): Promise<
    | { readonly ok: true; readonly backupCodes: readonly string[] }
    | { readonly ok: false; readonly reason: 'invalid_code' }
  > {
    const id = parseInput(UserIdSchema, userId, 'user id');
    const typed = parseInput(z.string().max(64), code, 'code');
    const keyring = mfaKeyring(this.#ctx.config.users);
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .selectFrom('user_mfa')
        .select(['totp_secret', 'key_id'])
        .where('user_id', '=', id)
        .where('confirmed_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('pending MFA enrolment');
      const secret = openSecret(keyring, row.key_id, row.totp_secret, id);
      const now = ctx.now();
      const step =
        secret === undefined
          ? undefined
          : totpStep(secret, typed.trim(), now.getTime(), ctx.config.users.mfa.window);
      if (step === undefined) {
        await recordAudit(ctx, {
          action: 'user.mfa_enable',
          resourceType: 'user',
          resourceId: id,
          subjectId: id,
          outcome: 'failure',
          outcomeDetail: 'invalid_code',
        });
        return { ok: false, reason: 'invalid_code' } as const;
      }
      await ctx.db
        .updateTable('user_mfa')
        .set({ confirmed_at: now, last_used_step: String(step) })
        .where('user_id', '=', id)
        .execute();
      const backupCodes = await this.#replaceBackupCodes(ctx, id);
      await recordAudit(ctx, {
        action: 'user.mfa_enable',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
      });
      return { ok: true, backupCodes } as const;
    });
  }

  /**
   * Completes a login that answered `mfa_required`. See {@link MfaVerifyResult}. A TOTP code is
   * accepted only for a time step after the last accepted one (a replayed code is refused); a
   * backup code is deleted when used. A wrong code counts toward the account's lockout
   * (`users.lockout`) and the network's rate limit, and leaves the challenge usable until it
   * expires; success consumes it, resets the failure count, sets `last_login_at` and audits
   * `user.login` (with `metadata.mfa`). An unknown challenge and a wrong code take the same work.
   *
   * Throws `ValidationError` for a malformed call.
   *
   * @example
   * <!-- snippet-preamble: declare const challenge: string; -->
   * ```ts
   * const mfa = await cb.users.mfa.verify({ challenge, code: req.body.code, ip: req.ip });
   * if (mfa.ok) await cb.sessions.create({ userId: mfa.user.id, mfaAt: mfa.mfaAt, ip: req.ip });
   * else res.status(401).json({ error: 'invalid code' });
   * ```
   */
  async verify(input: MfaVerifyInput): Promise<MfaVerifyResult> {
    const parsed = parseInput(MfaVerifyInputSchema, input, 'MFA verification');
    // A hit of the network's failure limit, taken atomically first and given back unless the
    // answer is a failure that counts (unknown challenge, wrong code).
    const hit = await this.#limiter.acquire('failure', networkKey(sourceOf(parsed.ip)));
    if (hit.limited !== undefined) return hit.limited;
    const keyring = mfaKeyring(this.#ctx.config.users);
    const where = parsed.ip === undefined ? {} : { ip: parsed.ip };
    const now = this.#ctx.now();
    const challengeHash = SESSION_TOKEN_PATTERN.test(parsed.challenge)
      ? hashSessionToken(parsed.challenge)
      : undefined;
    const found =
      challengeHash === undefined
        ? undefined
        : await this.#ctx.db
            .selectFrom('mfa_challenges as c')
            .innerJoin('user_mfa as m', 'm.user_id', 'c.user_id')
            .innerJoin('users as u', 'u.id', 'c.user_id')
            .select([
              'c.user_id',
              'm.totp_secret',
              'm.key_id',
              'm.last_used_step',
              'u.locked_until',
              'u.status',
            ])
            .where('c.token_hash', '=', challengeHash)
            .where('c.expires_at', '>', now)
            .where('m.confirmed_at', 'is not', null)
            .executeTakeFirst();
    const failure = {
      action: 'user.login',
      resourceType: 'user',
      userId: null,
      actorType: 'user',
      outcome: 'failure',
      ...where,
    } as const;
    if (found === undefined) {
      // The same work as a wrong code: a decryption attempt and a counted, audited failure with
      // the same statements (the account update matches no row).
      openSecret(keyring, keyring.current.id, Buffer.alloc(48), 'none');
      await this.#ctx.atomic(async (ctx) => {
        await spendFailedAttemptTime(ctx);
        await recordAudit(ctx, { ...failure, outcomeDetail: 'invalid_mfa_challenge' });
      });
      return { ok: false, reason: 'invalid_challenge' };
    }
    const userId = found.user_id;
    const subject = { resourceId: userId, subjectId: userId };
    if ((found.locked_until !== null && found.locked_until > now) || found.status !== 'active') {
      await this.#ctx.atomic(async (ctx) => {
        await hit.release(ctx);
        await recordAudit(ctx, { ...failure, ...subject, outcomeDetail: 'locked' });
      });
      return { ok: false, reason: 'locked' };
    }
    const secret = openSecret(keyring, found.key_id, found.totp_secret, userId);
    const code = parsed.code.trim();
    const step =
      secret === undefined
        ? undefined
        : totpStep(secret, code, now.getTime(), this.#ctx.config.users.mfa.window);
    const backup = step === undefined ? normaliseBackupCode(code) : undefined;
    const result =
      step === undefined && backup === undefined
        ? undefined
        : await this.#ctx.atomic(async (ctx) => {
            let method: 'totp' | 'backup_code' | undefined;
            if (step !== undefined) {
              // Accepted only for a later step than the last accepted one: never the same code twice.
              const advanced = await ctx.db
                .updateTable('user_mfa')
                .set({ last_used_step: String(step) })
                .where('user_id', '=', userId)
                .where((eb) =>
                  eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', String(step))]),
                )
                .returning('user_id')
                .executeTakeFirst();
              if (advanced !== undefined) method = 'totp';
            } else if (backup !== undefined) {
              const used = await ctx.db
                .deleteFrom('mfa_backup_codes')
                .where('user_id', '=', userId)
                .where('code_hash', '=', backupCodeHash(userId, backup))
                .returning('user_id')
                .executeTakeFirst();
              if (used !== undefined) method = 'backup_code';
            }
            if (method === undefined) return undefined;
            await hit.release(ctx);
            const consumed = await ctx.db
              .deleteFrom('mfa_challenges')
              .where('user_id', '=', userId)
              .where('token_hash', '=', challengeHash as Buffer)
              .returning('user_id')
              .executeTakeFirst();
            if (consumed === undefined) return 'used' as const;
            if (secret !== undefined && found.key_id !== keyring.current.id) {
              const resealed = sealSecret(keyring, secret, userId);
              await ctx.db
                .updateTable('user_mfa')
                .set({ totp_secret: resealed.sealed, key_id: resealed.keyId })
                .where('user_id', '=', userId)
                .execute();
            }
            const row = await ctx.db
              .updateTable('users')
              .set({ failed_login_count: 0, lockout_count: 0, locked_until: null, last_login_at: now })
              .where('id', '=', userId)
              .where('status', '=', 'active')
              .returning(USER_COLUMNS)
              .executeTakeFirstOrThrow();
            await recordAudit(ctx, {
              action: 'user.login',
              resourceType: 'user',
              ...subject,
              userId,
              actorType: 'user',
              metadata: { mfa: method },
              ...where,
            });
            return { ok: true, user: toUser(row), mfaAt: now, method } as const;
          });
    if (result === 'used') return { ok: false, reason: 'invalid_challenge' };
    if (result !== undefined) return result;
    const counted = await countFailedAttempt(this.#ctx, userId, now, {
      ...failure,
      ...subject,
      outcomeDetail: 'invalid_mfa_code',
    });
    return { ok: false, reason: counted.locked ? 'locked' : 'invalid_code' };
  }

  /**
   * Replaces the account's backup codes with ten new ones, returned once (the old ones stop
   * working). Audited as `user.mfa_backup_codes`. Throws `NotFoundError` when MFA is not enabled.
   *
   * @example
   * ```ts
   * const codes = await cb.users.mfa.regenerateBackupCodes(user.id);
   * ```
   */
  async regenerateBackupCodes(userId: string): Promise<readonly string[]> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    return this.#ctx.atomic(async (ctx) => {
      const enrolled = await ctx.db
        .selectFrom('user_mfa')
        .select('user_id')
        .where('user_id', '=', id)
        .where('confirmed_at', 'is not', null)
        .forUpdate()
        .executeTakeFirst();
      if (enrolled === undefined) throw new NotFoundError('MFA enrolment');
      const codes = await this.#replaceBackupCodes(ctx, id);
      await recordAudit(ctx, {
        action: 'user.mfa_backup_codes',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
      });
      return codes;
    });
  }

  /**
   * Whether the account has MFA enabled, and how many backup codes are left.
   *
   * @example
   * ```ts
   * const { enabled, backupCodesLeft } = await cb.users.mfa.status(user.id);
   * ```
   */
  async status(userId: string): Promise<{ readonly enabled: boolean; readonly backupCodesLeft: number }> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    const row = await this.#ctx.db
      .selectFrom('user_mfa')
      .select('confirmed_at')
      .where('user_id', '=', id)
      .executeTakeFirst();
    const left = await this.#ctx.db
      .selectFrom('mfa_backup_codes')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', id)
      .executeTakeFirstOrThrow();
    return { enabled: row?.confirmed_at != null, backupCodesLeft: Number(left.n) };
  }

  /**
   * An admin's reset of a user's MFA (lost device): removes the enrolment, backup codes and open
   * challenges, so the next login needs the password only, until the user enrols again. Call it on
   * `cb.withActor({ userId: admin.id })`; audited as `user.mfa_reset`. Returns whether there was
   * anything to remove. Throws `ValidationError` for a malformed id.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; declare const id: string; -->
   * ```ts
   * await cb.withActor({ userId: admin.id }).users.mfa.reset(id);
   * ```
   */
  async reset(userId: string): Promise<boolean> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    return this.#ctx.atomic(async (ctx) => {
      const removed = await ctx.db.deleteFrom('user_mfa').where('user_id', '=', id).executeTakeFirst();
      await ctx.db.deleteFrom('mfa_backup_codes').where('user_id', '=', id).execute();
      await ctx.db.deleteFrom('mfa_challenges').where('user_id', '=', id).execute();
      await recordAudit(ctx, {
        action: 'user.mfa_reset',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
      });
      return Number(removed.numDeletedRows) > 0;
    });
  }

  async #replaceBackupCodes(ctx: RepositoryContext, userId: string): Promise<string[]> {
    const codes = newBackupCodes();
    await ctx.db.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
    await ctx.db
      .insertInto('mfa_backup_codes')
      .values(
        codes.map((code) => ({
          user_id: userId,
          code_hash: backupCodeHash(userId, normaliseBackupCode(code) as string),
          created_at: ctx.now(),
        })),
      )
      .execute();
    return codes;
  }
}
