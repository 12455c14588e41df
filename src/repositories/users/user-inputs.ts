import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { truncateText } from '../../validation/text.js';

/**
 * bcrypt reads at most this many bytes of its input. carebase pre-hashes passwords (the
 * `$cb-bcrypt-sha256$` format), so this no longer limits a password; plain bcrypt hashes stored by
 * earlier versions still compare at most this many bytes, and a longer password never matches one.
 *
 * @example
 * ```ts
 * import { PASSWORD_MAX_BYTES } from 'carebase';
 * const legacyLimit: number = PASSWORD_MAX_BYTES; // 72
 * ```
 */
export const PASSWORD_MAX_BYTES = 72;

/**
 * The longest password carebase accepts, in Unicode code points (ASVS 5.0 6.2.9 asks for at least
 * 64): passphrases of any script count in full.
 *
 * @example
 * ```ts
 * import { PASSWORD_MAX_LENGTH } from 'carebase';
 * if ([...password].length > PASSWORD_MAX_LENGTH) throw new Error('Password too long');
 * ```
 */
export const PASSWORD_MAX_LENGTH = 1024;

/**
 * A password as carebase accepts it: any Unicode text of at most {@link PASSWORD_MAX_LENGTH} code
 * points, without NUL or lone surrogates (it is normalised to NFC before hashing). The policy
 * (`users.passwordMinLength`, `users.passwordPolicy`: common passwords, host rules) is checked by
 * the repository after this schema.
 *
 * @example
 * ```ts
 * import { PasswordInput } from 'carebase';
 * const ok = PasswordInput.safeParse(req.body.password).success;
 * ```
 */
export const PasswordInput = z
  .string()
  .min(1, 'must not be empty')
  .refine((value) => [...value].length <= PASSWORD_MAX_LENGTH, {
    message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
  })
  .refine((value) => !value.includes('\u0000'), { message: 'must not contain a NUL character' })
  .refine((value) => (value as unknown as { isWellFormed(): boolean }).isWellFormed(), {
    message: 'must be well-formed Unicode',
  });

/**
 * A username: 1-64 characters, no '@' (a login with '@' is an email), no spaces or controls.
 *
 * @example
 * ```ts
 * import { UsernameInput } from 'carebase';
 * UsernameInput.parse('ana.souza');
 * ```
 */
export const UsernameInput = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^@\s\p{C}]+$/u, "must not contain '@', spaces or control characters");

/**
 * An email address; stored as given (trimmed), unique case-insensitively.
 *
 * @example
 * ```ts
 * import { EmailInput } from 'carebase';
 * EmailInput.parse('ana@example.org');
 * ```
 */
export const EmailInput = z.string().trim().max(320).pipe(z.email());

/**
 * A display name: up to 200 characters, or `null` to clear it.
 *
 * @example
 * ```ts
 * import { DisplayNameInput } from 'carebase';
 * DisplayNameInput.parse('Ana Souza, RN');
 * ```
 */
export const DisplayNameInput = z
  .string()
  .trim()
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/**
 * A role name; checked against the configured allow-list (`users.roles`) by the repository.
 *
 * @example
 * ```ts
 * import { RoleInput } from 'carebase';
 * RoleInput.parse('nurse');
 * ```
 */
export const RoleInput = z.string().min(1).max(32);

const IpInput = z.string().refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address');
const UserAgentInput = z.string().transform((value) => truncateText(value, 512));

/**
 * An existing password hash, imported with `cb.users.create({ ..., passwordHash })` or
 * `cb.imports.users()`.
 *
 * @example
 * ```ts
 * import { ImportedPasswordHash } from 'carebase';
 * ImportedPasswordHash.parse({ algorithm: 'sha256', hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
 * ```
 */
export const ImportedPasswordHash = z.strictObject({
  /** `bcrypt` (any cost, `$2a$`/`$2b$`/`$2y$`), `sha256` (hex), `pbkdf2` (Werkzeug, Django or passlib format) or `argon2id` (PHC string). */
  algorithm: z.enum(['bcrypt', 'sha256', 'pbkdf2', 'argon2id']),
  /** The hash as the old system stored it. Never echoed in errors or logs. */
  hash: z.string().min(1).max(1024),
  /** sha256 only: the salt concatenated with the password before hashing. @default none */
  salt: z.string().min(1).max(1024).optional(),
  /** sha256 only: whether the salt came before (`prefix`) or after (`suffix`) the password. @default 'prefix' */
  saltPosition: z.enum(['prefix', 'suffix']).optional(),
});
/** An existing password hash to import (see the schema). */
export type ImportedPasswordHash = z.input<typeof ImportedPasswordHash>;

/**
 * Input of `cb.users.create`: exactly one of `password` (hashed with bcrypt here) and
 * `passwordHash` (an existing hash from the system the user comes from).
 *
 * @example
 * ```ts
 * import { UserCreateInput } from 'carebase';
 * const input = UserCreateInput.parse(req.body); // same rules as cb.users.create
 * ```
 */
export const UserCreateInput = z
  .strictObject({
    /** Optional: an account may be known by its email alone (it then logs in with the email). */
    username: UsernameInput.optional(),
    email: EmailInput,
    password: PasswordInput.optional(),
    /**
     * An existing hash instead of a password: bcrypt is kept as it is (rehashed upward at login when
     * below `users.bcryptCost`); the legacy formats verify once at the next successful login and are
     * replaced by bcrypt in the same transaction.
     */
    passwordHash: ImportedPasswordHash.optional(),
    role: RoleInput,
    displayName: DisplayNameInput.optional(),
  })
  .refine((input) => (input.password === undefined) !== (input.passwordHash === undefined), {
    message: 'give exactly one of password and passwordHash',
    path: ['password'],
  });
/** Input of `cb.users.create`. */
export type UserCreateInput = z.input<typeof UserCreateInput>;

/**
 * Input of `cb.users.register`: a self-service sign-up. Like {@link UserCreateInput}, with the
 * role optional (`users.registration.defaultRole`).
 *
 * @example
 * ```ts
 * import { UserRegisterInput } from 'carebase';
 * UserRegisterInput.parse({ email: 'ana@example.org', password: 'a long passphrase of mine' });
 * ```
 */
export const UserRegisterInput = z.strictObject({
  username: UsernameInput.optional(),
  email: EmailInput,
  password: PasswordInput,
  /** @default users.registration.defaultRole */
  role: RoleInput.optional(),
  displayName: DisplayNameInput.optional(),
});
/** Input of `cb.users.register`. */
export type UserRegisterInput = z.input<typeof UserRegisterInput>;

/**
 * Options of `cb.users.register`.
 *
 * @example
 * ```ts
 * import { RegisterOptions } from 'carebase';
 * RegisterOptions.parse({ autoApprove: true });
 * ```
 */
export const RegisterOptions = z.strictObject({
  /** Create the account active at once. @default users.registration.autoApprove */
  autoApprove: z.boolean().optional(),
});
/** Options of `cb.users.register`. */
export type RegisterOptions = z.input<typeof RegisterOptions>;

/**
 * Options of `cb.users.reject`.
 *
 * @example
 * ```ts
 * import { RejectInput } from 'carebase';
 * RejectInput.parse({ reason: 'not on the staff roster' });
 * ```
 */
export const RejectInput = z.strictObject({
  /** Why, for the admins and the audit trail (never shown to the applicant by carebase). */
  reason: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .optional(),
});
/** Options of `cb.users.reject`. */
export type RejectInput = z.input<typeof RejectInput>;

/**
 * Options of `cb.users.passwordReset.issue` (an admin's password reset).
 *
 * @example
 * ```ts
 * import { PasswordResetIssueInput } from 'carebase';
 * PasswordResetIssueInput.parse({ reason: 'phone lost, identity checked at the desk' });
 * ```
 */
export const PasswordResetIssueInput = z.strictObject({
  /** Why, for the audit trail (`metadata.reason` of `user.password_reset_issue`). */
  reason: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .optional(),
  /**
   * Revoke every session of the user now (a suspected compromise must not wait for the user to
   * complete the reset). @default true
   */
  revokeSessions: z.boolean().default(true),
});
/** Options of `cb.users.passwordReset.issue`. */
export type PasswordResetIssueInput = z.input<typeof PasswordResetIssueInput>;

/**
 * Patch of `cb.users.update`: profile fields only (role, status and password have their own methods).
 *
 * @example
 * ```ts
 * import { UserUpdateInput } from 'carebase';
 * UserUpdateInput.parse({ displayName: null });
 * ```
 */
export const UserUpdateInput = z
  .strictObject({
    username: UsernameInput.optional(),
    email: EmailInput.optional(),
    displayName: DisplayNameInput.nullable().optional(),
  })
  .refine(
    (patch) => Object.values(patch).some((value) => value !== undefined),
    'must change at least one field',
  );
/** Patch of `cb.users.update`. */
export type UserUpdateInput = z.input<typeof UserUpdateInput>;

/**
 * Input of `cb.users.list`.
 *
 * @example
 * ```ts
 * import { UserListInput } from 'carebase';
 * UserListInput.parse({ role: 'nurse', limit: 20 });
 * ```
 */
export const UserListInput = z.strictObject({
  role: RoleInput.optional(),
  status: z.enum(['pending', 'active', 'disabled']).optional(),
  /** Case-insensitive substring of username, email or display name. */
  search: z.string().min(1).max(200).optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(500).default(50),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});
/** Input of `cb.users.list`. */
export type UserListInput = z.input<typeof UserListInput>;

/**
 * Input of `cb.users.authenticate`.
 *
 * @example
 * ```ts
 * import { AuthenticateInput } from 'carebase';
 * AuthenticateInput.parse({ login: 'ana', password, ip: '203.0.113.7' });
 * ```
 */
export const AuthenticateInput = z.strictObject({
  /** Username, or email when it contains '@'; case-insensitive. */
  login: z.string().trim().min(1).max(320),
  /** Checked for length only, so an over-long password fails like a wrong one (no hint). */
  password: z.string().max(1024),
  ip: IpInput.optional(),
  userAgent: UserAgentInput.optional(),
});
/** Input of `cb.users.authenticate`. */
export type AuthenticateInput = z.input<typeof AuthenticateInput>;

/**
 * Input of `cb.users.changePassword`.
 *
 * @example
 * <!-- snippet-preamble: declare const currentPassword: string, newPassword: string; -->
 * ```ts
 * import { ChangePasswordInput } from 'carebase';
 * ChangePasswordInput.parse({ currentPassword, newPassword });
 * ```
 */
export const ChangePasswordInput = z.strictObject({
  /**
   * The user's current password: required (ASVS 6.2.3). An admin never sets a user's password
   * (ASVS 6.4.6): `users.passwordReset.issue(id)` issues a reset token instead.
   */
  currentPassword: z.string().max(1024),
  newPassword: PasswordInput,
  /** The session to keep (the one making the change); every other session is revoked. */
  exceptSessionId: z.uuid().optional(),
});
/** Input of `cb.users.changePassword`. */
export type ChangePasswordInput = z.input<typeof ChangePasswordInput>;

/**
 * Input of `cb.users.recordLogin`.
 *
 * @example
 * ```ts
 * import { RecordLoginInput } from 'carebase';
 * RecordLoginInput.parse({ ip: '203.0.113.7', method: 'oidc' });
 * ```
 */
export const RecordLoginInput = z.strictObject({
  ip: IpInput.optional(),
  userAgent: UserAgentInput.optional(),
  /** How the user authenticated elsewhere, e.g. `saml`, `oidc`. @default 'external' */
  method: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{0,31}$/, 'must be a short lower-case name like oidc')
    .optional(),
});
/** Input of `cb.users.recordLogin`. */
export type RecordLoginInput = z.input<typeof RecordLoginInput>;

/** A user id. */
export const UserIdInput = z.uuid();
