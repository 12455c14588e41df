import { z } from 'zod';

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
     * Shortest accepted password, in characters. (Longest: 72 UTF-8 bytes, a bcrypt limit.)
     * @default 12
     */
    passwordMinLength: z.number().int().min(1).max(72).default(12),
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
   * Shortest accepted password, in characters. (Longest: 72 UTF-8 bytes, a bcrypt limit.)
   * @default 12
   */
  readonly passwordMinLength?: number | undefined;
  /** Per-account lockout after repeated failures. */
  readonly lockout?: { maxFailures?: number | undefined; durationMs?: number | undefined } | undefined;
  /** Allowed roles. @default ['admin', 'clinician', 'nurse', 'viewer'] */
  readonly roles?: string[] | undefined;
  /**
   * Optional role -> permissions map used by `cb.users.can(user, permission)`. Every key must
   * be one of `roles`; a role not listed has no permissions. @default {}
   */
  readonly permissions?: Record<string, string[]> | undefined;
}
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
  /**
   * bcrypt cost factor for new hashes; stored hashes below it are rehashed at the next login.
   * @default 12 (minimum 10)
   */
  readonly bcryptCost: number;
  /**
   * Shortest accepted password, in characters. (Longest: 72 UTF-8 bytes, a bcrypt limit.)
   * @default 12
   */
  readonly passwordMinLength: number;
  /** Per-account lockout after repeated failures. */
  readonly lockout: { maxFailures: number; durationMs: number };
  /** Allowed roles. @default ['admin', 'clinician', 'nurse', 'viewer'] */
  readonly roles: string[];
  /**
   * Optional role -> permissions map used by `cb.users.can(user, permission)`. Every key must
   * be one of `roles`; a role not listed has no permissions. @default {}
   */
  readonly permissions: Record<string, string[]>;
}
