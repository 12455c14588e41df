import { z } from 'zod';
import { NotFoundError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { generateSessionToken } from '../sessions/session-token.js';
import { SessionsRepository } from '../sessions/sessions-repository.js';
import { toUser, USER_COLUMNS, type User } from '../user.js';
import {
  consumeAccountToken,
  findAccountToken,
  issueAccountToken,
  spendTokenTime,
} from './account-tokens.js';
import type { PasswordHasher } from './password-hasher.js';
import {
  networkKey,
  type RateLimitedResult,
  type RateLimiter,
  type RateLimitHit,
  sourceOf,
  subjectKey,
} from './rate-limiter.js';
import {
  type PasswordResetIssueInput,
  PasswordResetIssueInputSchema,
  PasswordSchema,
  UserIdSchema,
} from './user-inputs.js';

/**
 * What `passwordReset.request` returns: the same shape whether or not the account exists. Send
 * `token` (in a link) to `recipient.email` when `recipient` is set; when it is `null` send nothing,
 * but answer the requester exactly as when it is set ("if the account exists, we sent a link").
 *
 * @example
 * ```ts
 * import type { PasswordResetTicket } from 'carebase';
 * const ticket: PasswordResetTicket = await cb.withActor({ userId }).users.passwordReset.issue(userId);
 * ```
 */
export interface PasswordResetTicket {
  /** 256 random bits, base64url; a decoy that works nowhere when `recipient` is null. */
  readonly token: string;
  readonly expiresAt: Date;
  /** Where to send the token, or `null` when no active account has that login. */
  readonly recipient: { readonly userId: string; readonly email: string } | null;
}

/**
 * What `passwordReset.complete` returns. `invalid_token`: unknown, expired, used, or replaced by a
 * newer request.
 *
 * @example
 * ```ts
 * import type { PasswordResetResult } from 'carebase';
 * function status(result: PasswordResetResult): number {
 *   return result.ok ? 204 : result.reason === 'rate_limited' ? 429 : 400;
 * }
 * ```
 */
export type PasswordResetResult =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: 'invalid_token' }
  | RateLimitedResult;

/**
 * Input of `cb.users.passwordReset.request`.
 *
 * @example
 * ```ts
 * import { PasswordResetRequestInputSchema } from 'carebase/schemas';
 * PasswordResetRequestInputSchema.parse({ login: 'ana@example.org', ip: '203.0.113.7' });
 * ```
 */
export const PasswordResetRequestInputSchema = z.strictObject({
  /** Email or username (a login with '@' is an email), case-insensitive. */
  login: z.string().trim().min(1).max(320),
  ip: z.ipv4().or(z.ipv6()).optional(),
  userAgent: z.string().max(4096).optional(),
});
/**
 * Input of `cb.users.passwordReset.request()`. Validated by `PasswordResetRequestInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { PasswordResetRequestInput } from 'carebase';
 * const input: PasswordResetRequestInput = { login: 'ana@example.org', ip: '203.0.113.7' };
 * const result = await cb.users.passwordReset.request(input);
 * ```
 */
export interface PasswordResetRequestInput {
  /** Email or username (a login with '@' is an email), case-insensitive. */
  readonly login: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/**
 * Input of `cb.users.passwordReset.complete`.
 *
 * @example
 * <!-- snippet-preamble: declare const token: string, newPassword: string; -->
 * ```ts
 * import { PasswordResetCompleteInputSchema } from 'carebase/schemas';
 * PasswordResetCompleteInputSchema.parse({ token, newPassword });
 * ```
 */
export const PasswordResetCompleteInputSchema = z.strictObject({
  token: z.string().max(200),
  newPassword: PasswordSchema,
  ip: z.ipv4().or(z.ipv6()).optional(),
  userAgent: z.string().max(4096).optional(),
});
/**
 * Input of `cb.users.passwordReset.complete()`: the emailed token and the new password. Validated by `PasswordResetCompleteInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const token: string, newPassword: string; -->
 * ```ts
 * import type { PasswordResetCompleteInput } from 'carebase';
 * const input: PasswordResetCompleteInput = { token, newPassword };
 * const result = await cb.users.passwordReset.complete(input);
 * ```
 */
export interface PasswordResetCompleteInput {
  readonly token: string;
  readonly newPassword: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/**
 * Password recovery by token (ASVS 5.0 V6.4): `request` (self-service, by login) or `issue` (an
 * admin: carebase never lets an admin choose a user's password) returns a 256-bit token for the host
 * to send; `complete` sets the new password. Tokens are stored as SHA-256 hashes only, single-use,
 * expire after `users.tokens.passwordResetTtlMs`, and are voided by a newer request and by a
 * password change. A new password the policy refuses leaves the token usable. A completed reset
 * revokes every session of the account and clears its lockout. Requests and completions are
 * rate-limited per network (`users.rateLimit`).
 *
 * @example
 * <!-- snippet-preamble: declare const mailer: { send(to: string, body: string): Promise<void> }; -->
 * ```ts
 * const ticket = await cb.users.passwordReset.request({ login: req.body.email, ip: req.ip });
 * if ('token' in ticket && ticket.recipient) await mailer.send(ticket.recipient.email, `https://app.example/reset#${ticket.token}`);
 * res.status(202).json({ message: 'If the account exists, a link is on its way.' });
 * ```
 */
export class PasswordResetApi {
  readonly #ctx: RepositoryContext;
  readonly #hasher: PasswordHasher;
  readonly #limiter: RateLimiter;

  /** @internal Use `cb.users.passwordReset`. */
  constructor(ctx: RepositoryContext, hasher: PasswordHasher, limiter: RateLimiter) {
    this.#ctx = ctx;
    this.#hasher = hasher;
    this.#limiter = limiter;
  }

  /**
   * Issues a reset token for the active account with this login (email or username). Same shape
   * and the same database work whether or not it exists (`recipient` tells the host where to send
   * it). Audited as `user.password_reset_request` (the login itself is never recorded).
   * Rate-limited per network: `{ ok: false, reason: 'rate_limited', retryAfterMs }`.
   *
   * Throws `ValidationError` for a malformed call.
   *
   * @example
   * ```ts
   * const ticket = await cb.users.passwordReset.request({ login: 'ana@example.org', ip: req.ip });
   * ```
   */
  async request(input: PasswordResetRequestInput): Promise<PasswordResetTicket | RateLimitedResult> {
    const parsed = parseInput(PasswordResetRequestInputSchema, input, 'password reset request');
    // Counted per network, then per login (the text asked for, known or not: the same answer
    // and the same work for an account that does not exist).
    const network = await this.#limiter.acquire('reset_request', networkKey(sourceOf(parsed.ip)));
    if (network.limited !== undefined) return network.limited;
    const login = await this.#limiter.acquire('reset_login', {
      subject: subjectKey('reset_login', parsed.login.toLowerCase()),
    });
    if (login.limited !== undefined) return login.limited;
    const column = parsed.login.includes('@') ? 'email' : 'username';
    const ttl = this.#ctx.config.users.tokens.passwordResetTtlMs;
    return this.#ctx.atomic(async (ctx) => {
      const account = await ctx.db
        .selectFrom('users')
        .select(['id', 'email'])
        .where((eb) => eb(eb.fn('lower', [eb.ref(column)]), '=', parsed.login.toLowerCase()))
        .where('status', '=', 'active')
        .executeTakeFirst();
      let ticket: PasswordResetTicket;
      if (account === undefined) {
        await spendTokenTime(ctx);
        ticket = decoyTicket(ctx.now(), ttl);
      } else {
        const issued = await issueAccountToken(ctx, account.id, 'password_reset', ttl, null);
        ticket = { ...issued, recipient: { userId: account.id, email: account.email } };
      }
      await recordAudit(ctx, {
        action: 'user.password_reset_request',
        resourceType: 'user',
        ...(account === undefined ? {} : { resourceId: account.id, subjectId: account.id }),
        outcome: account === undefined ? 'failure' : 'success',
        ...(account === undefined ? { outcomeDetail: 'unknown_account' } : {}),
        ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
      });
      return ticket;
    });
  }

  /**
   * An admin's password reset (ASVS 6.4.6: an admin never sets or learns a user's password):
   * issues a reset token for the user to complete with `complete`, replacing any earlier one, and
   * revokes every session of the user (unless `revokeSessions: false`). The current password keeps
   * working until the reset is completed. Call it on `cb.withActor({ userId: admin.id })`; audited
   * as `user.password_reset_issue` with `reason` in its metadata. Not rate-limited (an admin
   * action), and distinct from the user's own `users.changePassword`, which always requires the
   * current password.
   *
   * Throws `NotFoundError` for an unknown user, `ValidationError` for a malformed id or options
   * (before any SQL).
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; declare const id: string; -->
   * ```ts
   * const { token, recipient } = await cb
   *   .withActor({ userId: admin.id })
   *   .users.passwordReset.issue(id, { reason: 'locked out, identity checked by phone' });
   * ```
   */
  async issue(userId: string, options: PasswordResetIssueInput = {}): Promise<PasswordResetTicket> {
    const id = parseInput(UserIdSchema, userId, 'user id');
    const parsed = parseInput(PasswordResetIssueInputSchema, options, 'password reset options');
    return this.#ctx.atomic(async (ctx) => {
      const account = await ctx.db
        .selectFrom('users')
        .select(['id', 'email'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (account === undefined) throw new NotFoundError('user');
      const issued = await issueAccountToken(
        ctx,
        id,
        'password_reset',
        ctx.config.users.tokens.passwordResetTtlMs,
        null,
      );
      await recordAudit(ctx, {
        action: 'user.password_reset_issue',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
        metadata: {
          ...(parsed.reason === undefined ? {} : { reason: parsed.reason }),
          sessionsRevoked: parsed.revokeSessions,
        },
      });
      if (parsed.revokeSessions) {
        await new SessionsRepository(ctx).revokeAllForUser(id, { reason: 'password_reset_issue' });
      }
      return { ...issued, recipient: { userId: id, email: account.email } };
    });
  }

  /**
   * Sets a new password with a reset token. The new password is checked against the policy first:
   * a refused one throws `ValidationError` (field `newPassword`) and leaves the token usable. On
   * success the token is consumed, the lockout cleared, every session revoked, and
   * `user.password_reset` audited; returns the user. An unknown, expired, used or replaced token
   * is `{ ok: false, reason: 'invalid_token' }` and counts toward the network's failure limit.
   *
   * @example
   * ```ts
   * const result = await cb.users.passwordReset.complete({ token: req.body.token, newPassword: req.body.password, ip: req.ip });
   * if (!result.ok) res.status(400).json({ error: 'This link is no longer valid.' });
   * ```
   */
  async complete(input: PasswordResetCompleteInput): Promise<PasswordResetResult> {
    const parsed = parseInput(PasswordResetCompleteInputSchema, input, 'password reset');
    // The rules that need no account first: a refused password is refused before any SQL.
    await this.#hasher.checkPolicy(parsed.newPassword, 'newPassword');
    // A hit of the network's failure limit, taken atomically first: kept for an invalid token,
    // given back otherwise.
    const hit = await this.#limiter.acquire('failure', networkKey(sourceOf(parsed.ip)));
    if (hit.limited !== undefined) return hit.limited;
    try {
      return await this.#complete(parsed, hit);
    } catch (error) {
      await hit.release(this.#ctx);
      throw error;
    }
  }

  async #complete(
    parsed: z.output<typeof PasswordResetCompleteInputSchema>,
    hit: RateLimitHit,
  ): Promise<PasswordResetResult> {
    const found = await findAccountToken(this.#ctx, parsed.token, 'password_reset');
    const invalid = async (): Promise<PasswordResetResult> => {
      await this.#ctx.atomic(async (ctx) => {
        await recordAudit(ctx, {
          action: 'user.password_reset',
          resourceType: 'user',
          outcome: 'failure',
          outcomeDetail: 'invalid_token',
          ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
        });
      });
      return { ok: false, reason: 'invalid_token' };
    };
    if (found === undefined) return invalid();
    const account = await this.#ctx.db
      .selectFrom('users')
      .select(['username', 'email'])
      .where('id', '=', found.user_id)
      .executeTakeFirst();
    if (account === undefined) return invalid();
    await this.#hasher.checkPolicy(parsed.newPassword, 'newPassword', account);
    const passwordHash = await this.#hasher.hash(parsed.newPassword);
    const user = await this.#ctx.atomic(async (ctx) => {
      const consumed = await consumeAccountToken(ctx, parsed.token, 'password_reset');
      if (consumed === undefined) return undefined;
      const now = ctx.now();
      const row = await ctx.db
        .updateTable('users')
        .set({
          password_hash: passwordHash,
          password_changed_at: now,
          failed_login_count: 0,
          lockout_count: 0,
          locked_until: null,
        })
        .where('id', '=', consumed.user_id)
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      await recordAudit(ctx, {
        action: 'user.password_reset',
        resourceType: 'user',
        resourceId: row.id,
        subjectId: row.id,
        ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
      });
      await new SessionsRepository(ctx).revokeAllForUser(row.id, { reason: 'password_reset' });
      await hit.release(ctx);
      return toUser(row);
    });
    if (user === undefined) return invalid();
    return { ok: true, user };
  }
}

/** A ticket for an unknown login: a fresh random token that matches nothing, and no recipient. */
function decoyTicket(now: Date, ttlMs: number): PasswordResetTicket {
  return { token: generateSessionToken(), expiresAt: new Date(now.getTime() + ttlMs), recipient: null };
}
