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
 * import { PasswordSchema } from 'carebase/schemas';
 * const ok = PasswordSchema.safeParse(req.body.password).success;
 * ```
 */
export const PasswordSchema = z
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
 * import { UsernameSchema } from 'carebase/schemas';
 * UsernameSchema.parse('ana.souza');
 * ```
 */
export const UsernameSchema = z
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
 * import { EmailSchema } from 'carebase/schemas';
 * EmailSchema.parse('ana@example.org');
 * ```
 */
export const EmailSchema = z.string().trim().max(320).pipe(z.email());

/**
 * A display name: up to 200 characters, or `null` to clear it.
 *
 * @example
 * ```ts
 * import { DisplayNameSchema } from 'carebase/schemas';
 * DisplayNameSchema.parse('Ana Souza, RN');
 * ```
 */
export const DisplayNameSchema = z
  .string()
  .trim()
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/**
 * A role name; checked against the configured allow-list (`users.roles`) by the repository.
 *
 * @example
 * ```ts
 * import { RoleSchema } from 'carebase/schemas';
 * RoleSchema.parse('nurse');
 * ```
 */
export const RoleSchema = z.string().min(1).max(32);

const IpSchema = z.string().refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address');
const UserAgentSchema = z.string().transform((value) => truncateText(value, 512));

/**
 * An existing password hash, imported with `cb.users.create({ ..., passwordHash })` or
 * `cb.imports.users()`.
 *
 * @example
 * ```ts
 * import { ImportedPasswordHashSchema } from 'carebase/schemas';
 * ImportedPasswordHashSchema.parse({ algorithm: 'sha256', hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
 * ```
 */
export const ImportedPasswordHashSchema = z.strictObject({
  /** `bcrypt` (any cost, `$2a$`/`$2b$`/`$2y$`), `sha256` (hex), `pbkdf2` (Werkzeug, Django or passlib format) or `argon2id` (PHC string). */
  algorithm: z.enum(['bcrypt', 'sha256', 'pbkdf2', 'argon2id']),
  /** The hash as the old system stored it. Never echoed in errors or logs. */
  hash: z.string().min(1).max(1024),
  /** sha256 only: the salt concatenated with the password before hashing. @default none */
  salt: z.string().min(1).max(1024).optional(),
  /** sha256 only: whether the salt came before (`prefix`) or after (`suffix`) the password. @default 'prefix' */
  saltPosition: z.enum(['prefix', 'suffix']).optional(),
});
/**
 * An existing password hash to import. Validated by `ImportedPasswordHashSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const row: { email: string; password_hash: string }; -->
 * ```ts
 * import type { ImportedPasswordHash } from 'carebase';
 * const passwordHash: ImportedPasswordHash = { algorithm: 'bcrypt', hash: row.password_hash };
 * await cb.users.create({ email: row.email, role: 'nurse', passwordHash });
 * ```
 */
export interface ImportedPasswordHash {
  /** `bcrypt` (any cost, `$2a$`/`$2b$`/`$2y$`), `sha256` (hex), `pbkdf2` (Werkzeug, Django or passlib format) or `argon2id` (PHC string). */
  readonly algorithm: 'bcrypt' | 'sha256' | 'pbkdf2' | 'argon2id';
  /** The hash as the old system stored it. Never echoed in errors or logs. */
  readonly hash: string;
  /** sha256 only: the salt concatenated with the password before hashing. @default none */
  readonly salt?: string | undefined;
  /** sha256 only: whether the salt came before (`prefix`) or after (`suffix`) the password. @default 'prefix' */
  readonly saltPosition?: 'prefix' | 'suffix' | undefined;
}

/**
 * Input of `cb.users.create`: exactly one of `password` (hashed with bcrypt here) and
 * `passwordHash` (an existing hash from the system the user comes from).
 *
 * @example
 * ```ts
 * import { UserCreateInputSchema } from 'carebase/schemas';
 * const input = UserCreateInputSchema.parse(req.body); // same rules as cb.users.create
 * ```
 */
export const UserCreateInputSchema = z
  .strictObject({
    /** Optional: an account may be known by its email alone (it then logs in with the email). */
    username: UsernameSchema.optional(),
    email: EmailSchema,
    password: PasswordSchema.optional(),
    /**
     * An existing hash instead of a password: bcrypt is kept as it is (rehashed upward at login when
     * below `users.bcryptCost`); the legacy formats verify once at the next successful login and are
     * replaced by bcrypt in the same transaction.
     */
    passwordHash: ImportedPasswordHashSchema.optional(),
    role: RoleSchema,
    displayName: DisplayNameSchema.optional(),
  })
  .refine((input) => (input.password === undefined) !== (input.passwordHash === undefined), {
    message: 'give exactly one of password and passwordHash',
    path: ['password'],
  });
/**
 * Input of `cb.users.create()`: exactly one of `password` and `passwordHash`. Validated by
 * `UserCreateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { UserCreateInput } from 'carebase';
 * const input: UserCreateInput = { username: 'ana', email: 'ana@example.org', password, role: 'nurse' };
 * const user = await cb.users.create(input);
 * ```
 */
export interface UserCreateInput {
  /** Optional: an account may be known by its email alone (it then logs in with the email). */
  readonly username?: string | undefined;
  readonly email: string;
  /** The password, hashed with bcrypt here. Give this or `passwordHash`. */
  readonly password?: string | undefined;
  /**
   * An existing hash instead of a password: bcrypt is kept as it is (rehashed upward at login when
   * below `users.bcryptCost`); the legacy formats verify once at the next successful login and are
   * replaced by bcrypt in the same transaction.
   */
  readonly passwordHash?: ImportedPasswordHash | undefined;
  readonly role: string;
  readonly displayName?: string | undefined;
}

/**
 * Input of `cb.users.register`: a self-service sign-up. Like `UserCreateInputSchema`, with the
 * role optional (`users.registration.defaultRole`).
 *
 * @example
 * ```ts
 * import { UserRegisterInputSchema } from 'carebase/schemas';
 * UserRegisterInputSchema.parse({ email: 'ana@example.org', password: 'a long passphrase of mine' });
 * ```
 */
export const UserRegisterInputSchema = z.strictObject({
  username: UsernameSchema.optional(),
  email: EmailSchema,
  password: PasswordSchema,
  /** @default users.registration.defaultRole */
  role: RoleSchema.optional(),
  displayName: DisplayNameSchema.optional(),
});
/**
 * Input of `cb.users.register()`: a self-service sign-up. Validated by `UserRegisterInputSchema`
 * (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { UserRegisterInput } from 'carebase';
 * const input: UserRegisterInput = { email: 'ana@example.org', password: 'a long passphrase of mine' };
 * const user = await cb.users.register(input);
 * ```
 */
export interface UserRegisterInput {
  readonly username?: string | undefined;
  readonly email: string;
  readonly password: string;
  /** @default users.registration.defaultRole */
  readonly role?: string | undefined;
  readonly displayName?: string | undefined;
}

/**
 * Options of `cb.users.register`.
 *
 * @example
 * ```ts
 * import { RegisterOptionsSchema } from 'carebase/schemas';
 * RegisterOptionsSchema.parse({ autoApprove: true });
 * ```
 */
export const RegisterOptionsSchema = z.strictObject({
  /** Create the account active at once. @default users.registration.autoApprove */
  autoApprove: z.boolean().optional(),
});
/**
 * Options of `cb.users.register()`. Validated by `RegisterOptionsSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { RegisterOptions } from 'carebase';
 * const options: RegisterOptions = { autoApprove: true };
 * await cb.users.register({ email: 'ana@example.org', password: 'a long passphrase of mine' }, options);
 * ```
 */
export interface RegisterOptions {
  /** Create the account active at once. @default users.registration.autoApprove */
  readonly autoApprove?: boolean | undefined;
}

/**
 * Options of `cb.users.reject`.
 *
 * @example
 * ```ts
 * import { RejectInputSchema } from 'carebase/schemas';
 * RejectInputSchema.parse({ reason: 'not on the staff roster' });
 * ```
 */
export const RejectInputSchema = z.strictObject({
  /** Why, for the admins and the audit trail (never shown to the applicant by carebase). */
  reason: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .optional(),
});
/**
 * Options of `cb.users.reject()`. Validated by `RejectInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const id: string; -->
 * ```ts
 * import type { RejectInput } from 'carebase';
 * const options: RejectInput = { reason: 'not on the staff roster' };
 * await cb.users.reject(id, options);
 * ```
 */
export interface RejectInput {
  /** Why, for the admins and the audit trail (never shown to the applicant by carebase). */
  readonly reason?: string | undefined;
}

/**
 * Options of `cb.users.passwordReset.issue` (an admin's password reset).
 *
 * @example
 * ```ts
 * import { PasswordResetIssueInputSchema } from 'carebase/schemas';
 * PasswordResetIssueInputSchema.parse({ reason: 'phone lost, identity checked at the desk' });
 * ```
 */
export const PasswordResetIssueInputSchema = z.strictObject({
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
/**
 * Options of `cb.users.passwordReset.issue()`. Validated by `PasswordResetIssueInputSchema`
 * (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const id: string; -->
 * ```ts
 * import type { PasswordResetIssueInput } from 'carebase';
 * const options: PasswordResetIssueInput = { reason: 'locked out, identity checked by phone' };
 * await cb.users.passwordReset.issue(id, options);
 * ```
 */
export interface PasswordResetIssueInput {
  /** Why, for the audit trail (`metadata.reason` of `user.password_reset_issue`). */
  readonly reason?: string | undefined;
  /**
   * Revoke every session of the user now (a suspected compromise must not wait for the user to
   * complete the reset). @default true
   */
  readonly revokeSessions?: boolean | undefined;
}

/**
 * Patch of `cb.users.update`: profile fields only (role, status and password have their own methods).
 *
 * @example
 * ```ts
 * import { UserUpdateInputSchema } from 'carebase/schemas';
 * UserUpdateInputSchema.parse({ displayName: null });
 * ```
 */
export const UserUpdateInputSchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    email: EmailSchema.optional(),
    displayName: DisplayNameSchema.nullable().optional(),
  })
  .refine(
    (patch) => Object.values(patch).some((value) => value !== undefined),
    'must change at least one field',
  );
/**
 * Patch of `cb.users.update()`: only the fields given change; `displayName: null` clears it. Validated by `UserUpdateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { UserUpdateInput } from 'carebase';
 * const patch: UserUpdateInput = { displayName: 'Ana Souza, RN' };
 * await cb.users.update(userId, patch);
 * ```
 */
export interface UserUpdateInput {
  readonly username?: string | undefined;
  readonly email?: string | undefined;
  readonly displayName?: string | null | undefined;
}

/**
 * Input of `cb.users.list`.
 *
 * @example
 * ```ts
 * import { UserListInputSchema } from 'carebase/schemas';
 * UserListInputSchema.parse({ role: 'nurse', limit: 20 });
 * ```
 */
export const UserListInputSchema = z.strictObject({
  role: RoleSchema.optional(),
  status: z.enum(['pending', 'active', 'disabled']).optional(),
  /** Case-insensitive substring of username, email or display name. */
  search: z.string().min(1).max(200).optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(500).default(50),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});
/**
 * Filters and page of `cb.users.list()`. All optional. Validated by `UserListInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { UserListInput } from 'carebase';
 * const filter: UserListInput = { role: 'nurse', status: 'active', limit: 50 };
 * const { items, nextCursor } = await cb.users.list(filter);
 * ```
 */
export interface UserListInput {
  readonly role?: string | undefined;
  readonly status?: 'pending' | 'active' | 'disabled' | undefined;
  /** Case-insensitive substring of username, email or display name. */
  readonly search?: string | undefined;
  /** @default 50 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

/**
 * Input of `cb.users.authenticate`.
 *
 * @example
 * ```ts
 * import { AuthenticateInputSchema } from 'carebase/schemas';
 * AuthenticateInputSchema.parse({ login: 'ana', password, ip: '203.0.113.7' });
 * ```
 */
export const AuthenticateInputSchema = z.strictObject({
  /** Username, or email when it contains '@'; case-insensitive. */
  login: z.string().trim().min(1).max(320),
  /** Checked for length only, so an over-long password fails like a wrong one (no hint). */
  password: z.string().max(1024),
  ip: IpSchema.optional(),
  userAgent: UserAgentSchema.optional(),
});
/**
 * Input of `cb.users.authenticate()`: a username or email, and the password. Validated by `AuthenticateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuthenticateInput } from 'carebase';
 * const attempt: AuthenticateInput = { login, password, ip: req.ip, userAgent: req.get('user-agent') };
 * const result = await cb.users.authenticate(attempt);
 * ```
 */
export interface AuthenticateInput {
  /** Username, or email when it contains '@'; case-insensitive. */
  readonly login: string;
  /** Checked for length only, so an over-long password fails like a wrong one (no hint). */
  readonly password: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/**
 * Input of `cb.users.changePassword`.
 *
 * @example
 * <!-- snippet-preamble: declare const currentPassword: string, newPassword: string; -->
 * ```ts
 * import { ChangePasswordInputSchema } from 'carebase/schemas';
 * ChangePasswordInputSchema.parse({ currentPassword, newPassword });
 * ```
 */
export const ChangePasswordInputSchema = z.strictObject({
  /**
   * The user's current password: required (ASVS 6.2.3). An admin never sets a user's password
   * (ASVS 6.4.6): `users.passwordReset.issue(id)` issues a reset token instead.
   */
  currentPassword: z.string().max(1024),
  newPassword: PasswordSchema,
  /** The session to keep (the one making the change); every other session is revoked. */
  exceptSessionId: z.uuid().optional(),
});
/**
 * Input of `cb.users.changePassword()`. Validated by `ChangePasswordInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChangePasswordInput } from 'carebase';
 * const change: ChangePasswordInput = { currentPassword: password, newPassword: 'a-new-long-passphrase', exceptSessionId: sessionId };
 * await cb.users.changePassword(userId, change);
 * ```
 */
export interface ChangePasswordInput {
  readonly newPassword: string;
  /**
   * The user's current password: required (ASVS 6.2.3). An admin never sets a user's password
   * (ASVS 6.4.6): `users.passwordReset.issue(id)` issues a reset token instead.
   */
  readonly currentPassword: string;
  /** The session to keep (the one making the change); every other session is revoked. */
  readonly exceptSessionId?: string | undefined;
}

/**
 * Input of `cb.users.recordLogin`.
 *
 * @example
 * ```ts
 * import { RecordLoginInputSchema } from 'carebase/schemas';
 * RecordLoginInputSchema.parse({ ip: '203.0.113.7', method: 'oidc' });
 * ```
 */
export const RecordLoginInputSchema = z.strictObject({
  ip: IpSchema.optional(),
  userAgent: UserAgentSchema.optional(),
  /** How the user authenticated elsewhere, e.g. `saml`, `oidc`. @default 'external' */
  method: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{0,31}$/, 'must be a short lower-case name like oidc')
    .optional(),
});
/**
 * Input of `cb.users.recordLogin()`: a login that happened elsewhere (SSO). Validated by
 * `RecordLoginInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const userId: string; -->
 * ```ts
 * import type { RecordLoginInput } from 'carebase';
 * const login: RecordLoginInput = { ip: '203.0.113.7', method: 'oidc' };
 * await cb.users.recordLogin(userId, login);
 * ```
 */
export interface RecordLoginInput {
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  /** How the user authenticated elsewhere, e.g. `saml`, `oidc`. @default 'external' */
  readonly method?: string | undefined;
}

/** A user id. */
export const UserIdSchema = z.uuid();
