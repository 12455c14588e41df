import { z } from 'zod';
import type { PasswordCheck } from '../security/password-policy.js';
import { Secret } from './secret.js';

/**
 * A 32-byte AES key: a Buffer, its base64 (either alphabet), or a {@link Secret} of the base64.
 * Held as a `Secret` (base64) so no printed form of the config shows it.
 */
const MfaKey = z
  .union([
    z.instanceof(Uint8Array),
    z.instanceof(Secret),
    z.string().regex(/^[A-Za-z0-9+/_-]{43}=?$/, 'must be 32 bytes of base64'),
  ])
  .transform((value) =>
    value instanceof Uint8Array
      ? Buffer.from(value)
      : Buffer.from(value instanceof Secret ? value.reveal() : value, 'base64'),
  )
  .refine((key) => key.length === 32, 'must be exactly 32 bytes (AES-256)')
  .transform((key) => new Secret(key.toString('base64')));

/**
 * The default role allow-list.
 *
 * @example
 * ```ts
 * import { createCarebase, DEFAULT_ROLES } from 'carebase';
 * // Add a role to the defaults and give each role its permissions.
 * const cb = createCarebase({
 *   users: {
 *     roles: [...DEFAULT_ROLES, 'pharmacist'],
 *     permissions: { admin: ['users.manage', 'audit.read'], pharmacist: ['prescriptions.read'] },
 *   },
 * });
 * ```
 */
export const DEFAULT_ROLES = ['admin', 'clinician', 'nurse', 'viewer'] as const;

/**
 * Options of the users repository: password hashing, lockout and roles.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ users: { bcryptCost: 13, lockout: { maxFailures: 3 } } });
 * ```
 */
export const UsersOptionsSchema = z
  .strictObject({
    /**
     * bcrypt cost factor for new hashes; stored hashes below it are rehashed at the next login.
     * @default 12 (minimum 10)
     */
    bcryptCost: z.number().int().min(10).max(20).default(12),
    /**
     * Shortest accepted password, in Unicode code points after NFC normalisation. (Longest:
     * `PASSWORD_MAX_LENGTH`, 1024; passwords are pre-hashed, so bcrypt's 72-byte limit no longer
     * applies.) @default 12
     */
    passwordMinLength: z.number().int().min(1).max(128).default(12),
    /**
     * What a new password is checked against besides its length (ASVS 5.0 V6.2): the shipped list
     * of common and breached passwords, a host list, and a host check.
     */
    passwordPolicy: z
      .strictObject({
        /** Refuse the ~1,000,000 most common breached passwords (shipped, offline). @default true */
        commonPasswords: z.boolean().default(true),
        /** The host's own refused passwords (e.g. the organisation's name), case-insensitive. @default [] */
        denyList: z.array(z.string().min(1).max(1024)).max(100_000).default([]),
        /**
         * A custom check: return why a password is refused (shown to the user, never echoing it),
         * or `undefined`. May be async.
         */
        check: z
          .custom<PasswordCheck>((value) => typeof value === 'function', 'must be a function')
          .optional(),
      })
      .prefault({}),
    /** Per-account lockout after repeated failures. */
    lockout: z
      .strictObject({
        /** Consecutive failed logins that lock the account. @default 5 */
        maxFailures: z.number().int().min(1).max(100).default(5),
        /** How long the lock lasts, in milliseconds. @default 900000 (15 min) */
        durationMs: z
          .number()
          .int()
          .positive()
          .default(15 * 60_000),
        /**
         * Each further lockout of the same account (before a successful login resets the count)
         * lasts this many times longer than the previous one, up to `maxDurationMs`. 1 keeps every
         * lock at `durationMs`. @default 1
         */
        escalation: z.number().min(1).max(10).default(1),
        /** The longest a lock lasts with `escalation`. @default 86400000 (24 h) */
        maxDurationMs: z
          .number()
          .int()
          .positive()
          .default(24 * 60 * 60_000),
      })
      .prefault({}),
    /**
     * Rate limits per source network (the `ip` given to `authenticate`, `mfa.verify`,
     * `passwordReset` and `emailVerification.complete`) and per account (reset requests per
     * login, verification requests per account), counted in PostgreSQL so every process of the
     * host shares them; concurrent calls never pass a limit. A limited call answers
     * `{ ok: false, reason: 'rate_limited', retryAfterMs }`. Calls without an `ip` are limited
     * per account only (`lockout` and the per-account limits).
     */
    rateLimit: z
      .strictObject({
        /** Failed logins, MFA codes and reset completions per network per window. @default 100 */
        maxFailures: z.number().int().min(1).max(1_000_000).default(100),
        /** Password-reset requests per network per window. @default 20 */
        maxResetRequests: z.number().int().min(1).max(1_000_000).default(20),
        /**
         * Password-reset requests per login (the email or username asked for, known or not, so
         * the answer never tells whether an account exists) per window, from any network.
         * @default 5
         */
        maxResetRequestsPerLogin: z.number().int().min(1).max(1_000_000).default(5),
        /** Email-verification requests per account per window. @default 5 */
        maxVerificationRequests: z.number().int().min(1).max(1_000_000).default(5),
        /** The sliding window, in ms (counted by the minute). @default 900000 (15 min) */
        windowMs: z
          .number()
          .int()
          .min(60_000)
          .max(24 * 60 * 60_000)
          .default(15 * 60_000),
        /** The network an IPv4 address counts in, as a prefix length. @default 24 */
        ipv4Prefix: z.number().int().min(8).max(32).default(24),
        /** The network an IPv6 address counts in, as a prefix length. @default 64 */
        ipv6Prefix: z.number().int().min(16).max(128).default(64),
      })
      .prefault({}),
    /** Multi-factor authentication (`cb.users.mfa`). */
    mfa: z
      .strictObject({
        /**
         * The key TOTP secrets are encrypted with (AES-256-GCM): 32 bytes, as a Buffer or base64.
         * To rotate, pass `{ current, previous: [old] }`: the current key encrypts (secrets are
         * re-encrypted at their next use), every key decrypts. Without a key, enrolment refuses.
         * @default none
         */
        encryptionKey: z
          .union([MfaKey, z.strictObject({ current: MfaKey, previous: z.array(MfaKey).max(20).default([]) })])
          .optional(),
        /** The issuer shown in authenticator apps. @default 'carebase' */
        issuer: z
          .string()
          .min(1)
          .max(100)
          .regex(/^[^:]+$/, "must not contain ':'")
          .default('carebase'),
        /** How long a login challenge stays valid. @default 300000 (5 min) */
        challengeTtlMs: z
          .number()
          .int()
          .min(30_000)
          .max(30 * 60_000)
          .default(5 * 60_000),
        /** TOTP steps accepted either side of now (clock drift). @default 1 */
        window: z.number().int().min(0).max(3).default(1),
      })
      .prefault({}),
    /** Lifetimes of password-reset and email-verification tokens. */
    tokens: z
      .strictObject({
        /** How long a reset token works. @default 1800000 (30 min) */
        passwordResetTtlMs: z
          .number()
          .int()
          .min(60_000)
          .max(24 * 60 * 60_000)
          .default(30 * 60_000),
        /** How long an email-verification token works. @default 86400000 (24 h) */
        emailVerificationTtlMs: z
          .number()
          .int()
          .min(60_000)
          .max(30 * 24 * 60 * 60_000)
          .default(24 * 60 * 60_000),
      })
      .prefault({}),
    /** Self-service registration (`cb.users.register`). */
    registration: z
      .strictObject({
        /** Role of a registration that names none; must be one of `roles`. @default 'viewer' */
        defaultRole: z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,31}$/)
          .default('viewer'),
        /** Registrations are active at once instead of awaiting `users.approve`. @default false */
        autoApprove: z.boolean().default(false),
      })
      .prefault({}),
    /** Allowed roles. @default ['admin', 'clinician', 'nurse', 'viewer'] */
    roles: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/))
      .min(1)
      .default([...DEFAULT_ROLES]),
    /**
     * Optional role -> permissions map used by `cb.users.can(user, permission)`. Every key must
     * be one of `roles`; a role not listed has no permissions. @default {}
     */
    permissions: z.record(z.string(), z.array(z.string().min(1).max(100))).default({}),
  })
  .prefault({})
  .superRefine((options, context) => {
    for (const role of Object.keys(options.permissions)) {
      if (!options.roles.includes(role)) {
        context.addIssue({
          code: 'custom',
          message: 'names a role that is not in users.roles',
          path: ['permissions', role],
        });
      }
    }
  });

/**
 * Users options as a host writes them.
 *
 * @example
 * ```ts
 * import { createCarebase, type UsersOptions } from 'carebase';
 * const users: UsersOptions = {
 *   passwordMinLength: 14,
 *   lockout: { maxFailures: 3, durationMs: 30 * 60_000 },
 * };
 * const cb = createCarebase({ users });
 * ```
 */
export interface UsersOptions {
  /**
   * bcrypt cost factor for new hashes; stored hashes below it are rehashed at the next login.
   * @default 12 (minimum 10)
   */
  readonly bcryptCost?: number | undefined;
  /**
   * Shortest accepted password, in Unicode code points after NFC normalisation. (Longest:
   * `PASSWORD_MAX_LENGTH`, 1024.) @default 12
   */
  readonly passwordMinLength?: number | undefined;
  /**
   * What a new password is checked against besides its length (ASVS 5.0 V6.2): the shipped list
   * of common and breached passwords, a host list, and a host check.
   */
  readonly passwordPolicy?:
    | {
        /** Refuse the ~1,000,000 most common breached passwords (shipped, offline). @default true */
        commonPasswords?: boolean | undefined;
        /** The host's own refused passwords (e.g. the organisation's name), case-insensitive. @default [] */
        denyList?: string[] | undefined;
        /** A custom check: return why a password is refused, or `undefined`. May be async. */
        check?: PasswordCheck | undefined;
      }
    | undefined;
  /** Per-account lockout after repeated failures. */
  readonly lockout?:
    | {
        /** Consecutive failed logins that lock the account. @default 5 */
        maxFailures?: number | undefined;
        /** How long the lock lasts, in milliseconds. @default 900000 (15 min) */
        durationMs?: number | undefined;
        /** Each further lockout lasts this many times longer, up to `maxDurationMs`. @default 1 */
        escalation?: number | undefined;
        /** The longest a lock lasts with `escalation`. @default 86400000 (24 h) */
        maxDurationMs?: number | undefined;
      }
    | undefined;
  /**
   * Rate limits per source network and per account, counted in PostgreSQL (shared by every
   * process; concurrent calls never pass a limit).
   */
  readonly rateLimit?:
    | {
        /** Failed logins, MFA codes, reset completions and verification tokens per network per window. @default 100 */
        maxFailures?: number | undefined;
        /** Password-reset requests per network per window. @default 20 */
        maxResetRequests?: number | undefined;
        /** Password-reset requests per login (known or not) per window, from any network. @default 5 */
        maxResetRequestsPerLogin?: number | undefined;
        /** Email-verification requests per account per window. @default 5 */
        maxVerificationRequests?: number | undefined;
        /** The sliding window, in ms. @default 900000 (15 min) */
        windowMs?: number | undefined;
        /** The network an IPv4 address counts in, as a prefix length. @default 24 */
        ipv4Prefix?: number | undefined;
        /** The network an IPv6 address counts in, as a prefix length. @default 64 */
        ipv6Prefix?: number | undefined;
      }
    | undefined;
  /** Multi-factor authentication (`cb.users.mfa`). */
  readonly mfa?:
    | {
        /**
         * The 32-byte AES-256-GCM key TOTP secrets are encrypted with (a Buffer, base64, or a
         * `Secret` of base64); `{ current, previous }` to rotate. Without a key, enrolment refuses.
         */
        encryptionKey?:
          | MfaKeyInput
          | { current: MfaKeyInput; previous?: MfaKeyInput[] | undefined }
          | undefined;
        /** The issuer shown in authenticator apps. @default 'carebase' */
        issuer?: string | undefined;
        /** How long a login challenge stays valid. @default 300000 (5 min) */
        challengeTtlMs?: number | undefined;
        /** TOTP steps accepted either side of now (clock drift). @default 1 */
        window?: number | undefined;
      }
    | undefined;
  /** Lifetimes of password-reset and email-verification tokens. */
  readonly tokens?:
    | {
        /** How long a reset token works. @default 1800000 (30 min) */
        passwordResetTtlMs?: number | undefined;
        /** How long an email-verification token works. @default 86400000 (24 h) */
        emailVerificationTtlMs?: number | undefined;
      }
    | undefined;
  /** Self-service registration (`cb.users.register`). */
  readonly registration?:
    | {
        /** Role of a registration that names none; must be one of `roles`. @default 'viewer' */
        defaultRole?: string | undefined;
        /** Registrations are active at once instead of awaiting `users.approve`. @default false */
        autoApprove?: boolean | undefined;
      }
    | undefined;
  /** Allowed roles. @default ['admin', 'clinician', 'nurse', 'viewer'] */
  readonly roles?: string[] | undefined;
  /**
   * Optional role -> permissions map used by `cb.users.can(user, permission)`. Every key must
   * be one of `roles`; a role not listed has no permissions. @default {}
   */
  readonly permissions?: Record<string, string[]> | undefined;
}
/**
 * An MFA encryption key as a host passes it: 32 bytes, their base64, or a `Secret` of the base64.
 *
 * @example
 * ```ts
 * import { createCarebase, type MfaKeyInput, Secret } from 'carebase';
 * const encryptionKey: MfaKeyInput = new Secret(process.env.MFA_KEY ?? '');
 * const cb = createCarebase({ users: { mfa: { encryptionKey } } });
 * ```
 */
export type MfaKeyInput = Uint8Array<ArrayBuffer> | Secret | string;
/**
 * Users options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedUsersOptions } from 'carebase';
 * // What a sign-up form needs to validate before submitting.
 * const { passwordMinLength, roles }: ResolvedUsersOptions = cb.config.users;
 * res.json({ passwordMinLength, roles });
 * ```
 */
export interface ResolvedUsersOptions {
  /** bcrypt cost factor for new hashes. */
  readonly bcryptCost: number;
  /** Shortest accepted password, in Unicode code points after NFC normalisation. */
  readonly passwordMinLength: number;
  /** What a new password is checked against besides its length. */
  readonly passwordPolicy: {
    commonPasswords: boolean;
    denyList: string[];
    check?: PasswordCheck | undefined;
  };
  /** Per-account lockout after repeated failures. */
  readonly lockout: { maxFailures: number; durationMs: number; escalation: number; maxDurationMs: number };
  /** Rate limits per source network and per account. */
  readonly rateLimit: {
    maxFailures: number;
    maxResetRequests: number;
    maxResetRequestsPerLogin: number;
    maxVerificationRequests: number;
    windowMs: number;
    ipv4Prefix: number;
    ipv6Prefix: number;
  };
  /** Multi-factor authentication; keys held as `Secret`s of their base64. */
  readonly mfa: {
    encryptionKey?: Secret | { current: Secret; previous: Secret[] } | undefined;
    issuer: string;
    challengeTtlMs: number;
    window: number;
  };
  /** Lifetimes of password-reset and email-verification tokens. */
  readonly tokens: { passwordResetTtlMs: number; emailVerificationTtlMs: number };
  /** Self-service registration. */
  readonly registration: { defaultRole: string; autoApprove: boolean };
  /** Allowed roles. */
  readonly roles: string[];
  /** Role -> permissions map used by `cb.users.can(user, permission)`. */
  readonly permissions: Record<string, string[]>;
}
