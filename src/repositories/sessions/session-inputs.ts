import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { truncateText } from '../../validation/text.js';

/**
 * Input of `cb.sessions.create`.
 *
 * @example
 * ```ts
 * import { SessionCreateInput } from 'carebase';
 * SessionCreateInput.parse({ userId, ip: req.ip, ttlMs: 60 * 60_000 });
 * ```
 */
export const SessionCreateInput = z.strictObject({
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
/** Input of `cb.sessions.create`. */
export type SessionCreateInput = z.input<typeof SessionCreateInput>;

/**
 * Options of `cb.sessions.validate`: step-up requirements for sensitive actions. A session that
 * does not meet them does not validate (`undefined`); validate without options to tell an expired
 * session from one that needs the user to re-authenticate.
 *
 * @example
 * ```ts
 * import { SessionValidateInput } from 'carebase';
 * SessionValidateInput.parse({ maxAuthAgeMs: 5 * 60_000, requireMfa: true });
 * ```
 */
export const SessionValidateInput = z.strictObject({
  /** The user must have proved their password (or a reset) at most this long ago. */
  maxAuthAgeMs: z.number().int().positive().optional(),
  /** The session must have passed a second factor (within `maxAuthAgeMs` when both are given). */
  requireMfa: z.boolean().optional(),
});
/** Options of `cb.sessions.validate`. */
export type SessionValidateInput = z.input<typeof SessionValidateInput>;

/**
 * Options of `cb.sessions.recordAuthentication`.
 *
 * @example
 * ```ts
 * import { RecordAuthenticationInput } from 'carebase';
 * RecordAuthenticationInput.parse({ mfaAt: new Date() });
 * ```
 */
export const RecordAuthenticationInput = z.strictObject({
  /** When the user passed a second factor (`mfaAt` of `users.mfa.verify`). */
  mfaAt: z.date().optional(),
});
/** Options of `cb.sessions.recordAuthentication`. */
export type RecordAuthenticationInput = z.input<typeof RecordAuthenticationInput>;

/**
 * Why a session was revoked: a short code such as `logout` (no personal data).
 *
 * @example
 * ```ts
 * await cb.sessions.revoke(token, 'logout');
 * ```
 */
export const RevokeReasonInput = z
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
export const RevokeAllInput = z.strictObject({
  /** Keep this session (e.g. the one changing the password). */
  exceptSessionId: z.uuid().optional(),
  /** @default 'revoke_all' */
  reason: RevokeReasonInput.optional(),
});
/** Options of `cb.sessions.revokeAllForUser`. */
export type RevokeAllInput = z.input<typeof RevokeAllInput>;

/**
 * Options of `cb.sessions.listForUser`.
 *
 * @example
 * ```ts
 * await cb.sessions.listForUser(userId, { includeEnded: true, limit: 20 });
 * ```
 */
export const SessionListInput = z.strictObject({
  /** Also list revoked and expired sessions. @default false */
  includeEnded: z.boolean().default(false),
  /** @default 100 */
  limit: z.number().int().min(1).max(1000).default(100),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});
/** Options of `cb.sessions.listForUser`. */
export type SessionListInput = z.input<typeof SessionListInput>;

/**
 * Options of `cb.sessions.purgeExpired`.
 *
 * @example
 * ```ts
 * await cb.sessions.purgeExpired({ olderThan: new Date(Date.now() - 7 * 864e5) });
 * ```
 */
export const PurgeExpiredInput = z.strictObject({
  /**
   * Delete sessions that ended (revoked, absolutely expired or idle-expired) before this instant.
   * @default 30 days before now (the configured clock)
   */
  olderThan: z.date().optional(),
});
/** Options of `cb.sessions.purgeExpired`. */
export type PurgeExpiredInput = z.input<typeof PurgeExpiredInput>;
