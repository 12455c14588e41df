import { z } from 'zod';
import { NotFoundError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import { consumeAccountToken, issueAccountToken } from './account-tokens.js';
import {
  networkKey,
  type RateLimitedResult,
  type RateLimiter,
  sourceOf,
  subjectKey,
} from './rate-limiter.js';
import { UserIdSchema } from './user-inputs.js';

/**
 * A verification token to send to `email`.
 *
 * @example
 * ```ts
 * import type { EmailVerificationTicket, RateLimitedResult } from 'carebase';
 * const ticket: EmailVerificationTicket | RateLimitedResult = await cb.users.emailVerification.request(userId);
 * ```
 */
export interface EmailVerificationTicket {
  /** 256 random bits, base64url: put it in the link you send. */
  readonly token: string;
  readonly expiresAt: Date;
  /** The address it proves (the account's current email). */
  readonly email: string;
}

/**
 * What `emailVerification.complete` returns. `invalid_token`: unknown, expired, used, replaced,
 * or for an address the account no longer has.
 *
 * @example
 * ```ts
 * import type { EmailVerificationResult } from 'carebase';
 * const verified = (result: EmailVerificationResult) => result.ok && result.user.emailVerifiedAt !== null;
 * ```
 */
export type EmailVerificationResult =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: 'invalid_token' }
  | RateLimitedResult;

/**
 * Options of `cb.users.emailVerification.complete`.
 *
 * @example
 * ```ts
 * import type { EmailVerificationCompleteOptions } from 'carebase';
 * const options: EmailVerificationCompleteOptions = { ip: '203.0.113.7' };
 * ```
 */
export interface EmailVerificationCompleteOptions {
  /** The client's address: invalid tokens count toward its network's failure limit (`users.rateLimit.maxFailures`). */
  readonly ip?: string | undefined;
}

/**
 * Validates {@link EmailVerificationCompleteOptions}.
 *
 * @example
 * ```ts
 * import { EmailVerificationCompleteOptionsSchema } from 'carebase/schemas';
 * EmailVerificationCompleteOptionsSchema.parse({ ip: '203.0.113.7' });
 * ```
 */
export const EmailVerificationCompleteOptionsSchema = z.strictObject({
  ip: z.ipv4().or(z.ipv6()).optional(),
});

/**
 * Email verification by token: `request(userId)` issues a 256-bit token for the account's current
 * address (stored as a SHA-256 hash, single-use, `users.tokens.emailVerificationTtlMs`, replaced
 * by a newer request); `complete(token)` sets `emailVerifiedAt`. Changing the email (`update`)
 * clears `emailVerifiedAt`, and a token for the old address no longer verifies anything.
 * Requests are limited per account (`users.rateLimit.maxVerificationRequests` per window), and
 * invalid tokens count toward the network's failure limit when `complete` is given the `ip`.
 *
 * @example
 * <!-- snippet-preamble: declare const mailer: { send(to: string, body: string): Promise<void> }; -->
 * ```ts
 * const ticket = await cb.users.emailVerification.request(user.id);
 * if (!('token' in ticket)) throw new Error(`try again in ${ticket.retryAfterMs} ms`);
 * await mailer.send(ticket.email, `https://app.example/verify#${ticket.token}`);
 * // later, from the link:
 * const result = await cb.users.emailVerification.complete(req.body.token);
 * ```
 */
export class EmailVerificationApi {
  readonly #ctx: RepositoryContext;
  readonly #limiter: RateLimiter;

  /** @internal Use `cb.users.emailVerification`. */
  constructor(ctx: RepositoryContext, limiter: RateLimiter) {
    this.#ctx = ctx;
    this.#limiter = limiter;
  }

  /**
   * Issues a verification token for the account's current email. Audited as
   * `user.email_verification_request`. At most `users.rateLimit.maxVerificationRequests` per
   * account per window (concurrent calls included): past it, `{ ok: false, reason:
   * 'rate_limited', retryAfterMs }` and no token. Throws `NotFoundError` for an unknown user,
   * `ValidationError` for a malformed id.
   *
   * @example
   * ```ts
   * const ticket = await cb.users.emailVerification.request(user.id);
   * ```
   */
  async request(userId: string): Promise<EmailVerificationTicket | RateLimitedResult> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    const account = await this.#ctx.db
      .selectFrom('users')
      .select(['email'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (account === undefined) throw new NotFoundError('user');
    const hit = await this.#limiter.acquire('verification_request', {
      subject: subjectKey('verification_request', id),
    });
    if (hit.limited !== undefined) return hit.limited;
    return this.#ctx.atomic(async (ctx) => {
      const account = await ctx.db
        .selectFrom('users')
        .select(['email'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (account === undefined) throw new NotFoundError('user');
      const ttl = ctx.config.users.tokens.emailVerificationTtlMs;
      const issued = await issueAccountToken(ctx, id, 'email_verification', ttl, account.email);
      await recordAudit(ctx, {
        action: 'user.email_verification_request',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
      });
      return { ...issued, email: account.email };
    });
  }

  /**
   * Verifies the email a token was issued for: consumes the token and sets `emailVerifiedAt` when
   * the account still has that address. Audited as `user.email_verify`. With `options.ip`, an
   * invalid token counts toward the network's failure limit (`users.rateLimit.maxFailures`, the
   * one failed logins count toward) and a limited network gets `rate_limited` without a check.
   *
   * Throws `ValidationError` when `token` is not a string or `options` is malformed.
   *
   * @example
   * ```ts
   * const result = await cb.users.emailVerification.complete(req.body.token, { ip: req.ip });
   * if (!result.ok) res.status(400).json({ error: 'This link is no longer valid.' });
   * ```
   */
  async complete(
    token: string,
    options: EmailVerificationCompleteOptions = {},
  ): Promise<EmailVerificationResult> {
    const parsed = parseInput(z.string().max(200), token, 'verification token');
    const { ip } = parseInput(EmailVerificationCompleteOptionsSchema, options, 'verification options');
    const hit = await this.#limiter.acquire('failure', networkKey(sourceOf(ip)));
    if (hit.limited !== undefined) return hit.limited;
    return this.#ctx.atomic(async (ctx) => {
      const consumed = await consumeAccountToken(ctx, parsed, 'email_verification');
      const row =
        consumed === undefined || consumed.email === null
          ? undefined
          : await ctx.db
              .updateTable('users')
              .set({ email_verified_at: ctx.now() })
              .where('id', '=', consumed.user_id)
              .where((eb) => eb(eb.fn('lower', [eb.ref('email')]), '=', (consumed.email ?? '').toLowerCase()))
              .returning(USER_COLUMNS)
              .executeTakeFirst();
      await recordAudit(ctx, {
        action: 'user.email_verify',
        resourceType: 'user',
        ...(consumed === undefined ? {} : { resourceId: consumed.user_id, subjectId: consumed.user_id }),
        ...(row === undefined ? { outcome: 'failure', outcomeDetail: 'invalid_token' } : {}),
        ...(ip === undefined ? {} : { ip }),
      });
      // Only an invalid token is a failure that counts.
      if (row !== undefined) await hit.release(ctx);
      return row === undefined ? { ok: false, reason: 'invalid_token' } : { ok: true, user: toUser(row) };
    });
  }
}
