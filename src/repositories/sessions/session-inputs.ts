import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { truncateText } from '../../validation/text.js';

/**
 * Input of `cb.sessions.create`.
 *
 * @example
 * ```ts
 * import { SessionCreateInputSchema } from 'carebase/schemas';
 * SessionCreateInputSchema.parse({ userId, ip: req.ip, ttlMs: 60 * 60_000 });
 * ```
 */
export const SessionCreateInputSchema = z.strictObject({
  userId: z.uuid(),
  /** The client's IP address (IPv4 or IPv6). */
  ip: z
    .string()
    .refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address')
    .optional(),
  /** The client's User-Agent header, truncated to 512 characters. */
  userAgent: z
    .string()
    .transform((value) => truncateText(value, 512))
    .optional(),
  /**
   * Absolute lifetime of this session in ms; may only shorten `sessions.absoluteTimeoutMs`.
   * @default sessions.absoluteTimeoutMs
   */
  ttlMs: z.number().int().positive().optional(),
  /**
   * When the user proved their password for this session (the `authenticate` call it follows).
   * @default now (the configured clock)
   */
  authenticatedAt: z.date().optional(),
  /**
   * When the user passed a second factor: `mfaAt` of `users.mfa.verify`'s result. Required by
   * `validate(token, { requireMfa: true })`. @default null (no second factor)
   */
  mfaAt: z.date().optional(),
});
/**
 * Input of `cb.sessions.create()`. Validated by `SessionCreateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { SessionCreateInput } from 'carebase';
 * const input: SessionCreateInput = { userId, ip: req.ip, userAgent: req.get('user-agent') };
 * const { token, session } = await cb.sessions.create(input);
 * ```
 */
export interface SessionCreateInput {
  readonly userId: string;
  /** The client's IP address (IPv4 or IPv6). */
  readonly ip?: string | undefined;
  /** The client's User-Agent header, truncated to 512 characters. */
  readonly userAgent?: string | undefined;
  /**
   * Absolute lifetime of this session in ms; may only shorten `sessions.absoluteTimeoutMs`.
   * @default sessions.absoluteTimeoutMs
   */
  readonly ttlMs?: number | undefined;
  /**
   * When the user proved their password for this session (the `authenticate` call it follows).
   * @default now (the configured clock)
   */
  readonly authenticatedAt?: Date | undefined;
  /**
   * When the user passed a second factor: `mfaAt` of `users.mfa.verify`'s result. Required by
   * `validate(token, { requireMfa: true })`. @default null (no second factor)
   */
  readonly mfaAt?: Date | undefined;
}

/**
 * Options of `cb.sessions.validate`: step-up requirements for sensitive actions. A session that
 * does not meet them does not validate (`undefined`); validate without options to tell an expired
 * session from one that needs the user to re-authenticate.
 *
 * @example
 * ```ts
 * import { SessionValidateInputSchema } from 'carebase/schemas';
 * SessionValidateInputSchema.parse({ maxAuthAgeMs: 5 * 60_000, requireMfa: true });
 * ```
 */
export const SessionValidateInputSchema = z.strictObject({
  /** The user must have proved their password (or a reset) at most this long ago. */
  maxAuthAgeMs: z.number().int().positive().optional(),
  /** The session must have passed a second factor (within `maxAuthAgeMs` when both are given). */
  requireMfa: z.boolean().optional(),
});
/**
 * Options of `cb.sessions.validate()`: step-up requirements for sensitive actions. Validated by `SessionValidateInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const token: string; -->
 * ```ts
 * import type { SessionValidateInput } from 'carebase';
 * const stepUp: SessionValidateInput = { maxAuthAgeMs: 5 * 60_000, requireMfa: true };
 * const session = await cb.sessions.validate(token, stepUp);
 * ```
 */
export interface SessionValidateInput {
  /** The user must have proved their password (or a reset) at most this long ago. */
  readonly maxAuthAgeMs?: number | undefined;
  /** The session must have passed a second factor (within `maxAuthAgeMs` when both are given). */
  readonly requireMfa?: boolean | undefined;
}

/**
 * Options of `cb.sessions.recordAuthentication`.
 *
 * @example
 * ```ts
 * import { RecordAuthenticationInputSchema } from 'carebase/schemas';
 * RecordAuthenticationInputSchema.parse({ mfaAt: new Date() });
 * ```
 */
export const RecordAuthenticationInputSchema = z.strictObject({
  /** When the user passed a second factor (`mfaAt` of `users.mfa.verify`). */
  mfaAt: z.date().optional(),
});
/**
 * Options of `cb.sessions.recordAuthentication()`. Validated by `RecordAuthenticationInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const sessionId: string; -->
 * ```ts
 * import type { RecordAuthenticationInput } from 'carebase';
 * const proof: RecordAuthenticationInput = { mfaAt: new Date() };
 * await cb.sessions.recordAuthentication(sessionId, proof);
 * ```
 */
export interface RecordAuthenticationInput {
  /** When the user passed a second factor (`mfaAt` of `users.mfa.verify`). */
  readonly mfaAt?: Date | undefined;
}

/**
 * Why a session was revoked: a short code such as `logout` (no personal data).
 *
 * @example
 * ```ts
 * await cb.sessions.revoke(token, 'logout');
 * ```
 */
export const RevokeReasonSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\p{L}\p{N} ._:-]+$/u, 'must be a short code such as logout or password_change');

/**
 * Options of `cb.sessions.revokeAllForUser`.
 *
 * @example
 * <!-- snippet-preamble: declare const exceptSessionId: string; -->
 * ```ts
 * await cb.sessions.revokeAllForUser(userId, { exceptSessionId, reason: 'password_change' });
 * ```
 */
export const RevokeAllInputSchema = z.strictObject({
  /** Keep this session (e.g. the one changing the password). */
  exceptSessionId: z.uuid().optional(),
  /** @default 'revoke_all' */
  reason: RevokeReasonSchema.optional(),
});
/**
 * Options of `cb.sessions.revokeAllForUser()`. Validated by `RevokeAllInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { RevokeAllInput } from 'carebase';
 * const options: RevokeAllInput = { exceptSessionId: sessionId, reason: 'password_changed' };
 * await cb.sessions.revokeAllForUser(userId, options);
 * ```
 */
export interface RevokeAllInput {
  /** Keep this session (e.g. the one changing the password). */
  readonly exceptSessionId?: string | undefined;
  /** @default 'revoke_all' */
  readonly reason?: string | undefined;
}

/**
 * Options of `cb.sessions.listForUser`.
 *
 * @example
 * ```ts
 * await cb.sessions.listForUser(userId, { includeEnded: true, limit: 20 });
 * ```
 */
export const SessionListInputSchema = z.strictObject({
  /** Also list revoked and expired sessions. @default false */
  includeEnded: z.boolean().default(false),
  /** @default 100 */
  limit: z.number().int().min(1).max(1000).default(100),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});
/**
 * Options of `cb.sessions.listForUser()`. Validated by `SessionListInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { SessionListInput } from 'carebase';
 * const options: SessionListInput = { includeEnded: true, limit: 20 };
 * const { items } = await cb.sessions.listForUser(userId, options);
 * ```
 */
export interface SessionListInput {
  /** Also list revoked and expired sessions. @default false */
  readonly includeEnded?: boolean | undefined;
  /** @default 100 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

/**
 * Options of `cb.sessions.purgeExpired`.
 *
 * @example
 * ```ts
 * await cb.sessions.purgeExpired({ olderThan: new Date(Date.now() - 7 * 864e5) });
 * ```
 */
export const PurgeExpiredInputSchema = z.strictObject({
  /**
   * Delete sessions that ended (revoked, absolutely expired or idle-expired) before this instant.
   * @default 30 days before now (the configured clock)
   */
  olderThan: z.date().optional(),
});
/**
 * Options of `cb.sessions.purgeExpired()`. Validated by `PurgeExpiredInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { PurgeExpiredInput } from 'carebase';
 * const options: PurgeExpiredInput = { olderThan: new Date(Date.now() - 30 * 24 * 3600 * 1000) };
 * const removed = await cb.sessions.purgeExpired(options);
 * ```
 */
export interface PurgeExpiredInput {
  /**
   * Delete sessions that ended (revoked, absolutely expired or idle-expired) before this instant.
   * @default 30 days before now (the configured clock)
   */
  readonly olderThan?: Date | undefined;
}
