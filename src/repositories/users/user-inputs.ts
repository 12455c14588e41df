import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { truncateText } from '../../validation/text.js';

/**
 * bcrypt reads at most this many bytes of a password; longer ones are refused, not truncated.
 *
 * @example
 * ```ts
 * import { PASSWORD_MAX_BYTES } from 'carebase';
 * if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES) throw new Error('Password too long');
 * ```
 */
export const PASSWORD_MAX_BYTES = 72;

/**
 * A password as carebase accepts it: at most 72 UTF-8 bytes (bcrypt silently ignores the rest)
 * and no NUL character (bcrypt's C core would stop there). The configurable minimum length
 * (`users.passwordMinLength`, in characters) is checked by the repository after this schema.
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
  .refine((value) => Buffer.byteLength(value, 'utf8') <= PASSWORD_MAX_BYTES, {
    message: `must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8 (bcrypt ignores the rest)`,
  })
  .refine((value) => !value.includes('\u0000'), { message: 'must not contain a NUL character' });

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
 * Input of `cb.users.create`.
 *
 * @example
 * ```ts
 * import { UserCreateInputSchema } from 'carebase/schemas';
 * const input = UserCreateInputSchema.parse(req.body); // same rules as cb.users.create
 * ```
 */
export const UserCreateInputSchema = z.strictObject({
  username: UsernameSchema,
  email: EmailSchema,
  password: PasswordSchema,
  role: RoleSchema,
  displayName: DisplayNameSchema.optional(),
});
/**
 * Input of `cb.users.create()`. Validated by `UserCreateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { UserCreateInput } from 'carebase';
 * const input: UserCreateInput = { username: 'ana', email: 'ana@example.org', password, role: 'nurse' };
 * const user = await cb.users.create(input);
 * ```
 */
export interface UserCreateInput {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly role: string;
  readonly displayName?: string | undefined;
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
  status: z.enum(['active', 'disabled']).optional(),
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
  readonly status?: 'active' | 'disabled' | undefined;
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
  /** When given, must match the stored password (self-service change); omit for an admin reset. */
  currentPassword: z.string().max(1024).optional(),
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
  /** When given, must match the stored password (self-service change); omit for an admin reset. */
  readonly currentPassword?: string | undefined;
  /** The session to keep (the one making the change); every other session is revoked. */
  readonly exceptSessionId?: string | undefined;
}

/** A user id. */
export const UserIdSchema = z.uuid();
