import type { Selectable } from 'kysely';
import type { UsersTable } from '../schema/users.js';

/**
 * A user account as carebase returns it (from `cb.users` and, with its session, from
 * `cb.sessions.validate`). It never carries the password hash: the hash stays
 * inside the users repository.
 *
 * @example
 * ```ts
 * import type { User } from 'carebase';
 * const user: User = await cb.users.getById(id);
 * ```
 */
export interface User {
  readonly id: string;
  /** `null` for an account known by its email alone. */
  readonly username: string | null;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: string;
  /**
   * `pending`: registered, awaiting an admin's approval (`users.approve`); `disabled`: deactivated
   * or rejected (see `rejectedAt`). Only `active` accounts log in and hold valid sessions.
   */
  readonly status: 'pending' | 'active' | 'disabled';
  /** Consecutive failed logins since the last success or unlock. */
  readonly failedLoginCount: number;
  /** Set while the account is locked out; logins fail with `locked` until then. */
  readonly lockedUntil: Date | null;
  readonly lastLoginAt: Date | null;
  readonly passwordChangedAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When an admin approved the registration (`null` for accounts created directly). */
  readonly approvedAt: Date | null;
  /** When an admin rejected the registration; the account is `disabled` then. */
  readonly rejectedAt: Date | null;
  /** When the current email address was verified (`users.emailVerification`), else `null`. */
  readonly emailVerifiedAt: Date | null;
}

/** The `users` columns that make a {@link User}: everything except `password_hash`. */
export const USER_COLUMNS = [
  'id',
  'username',
  'email',
  'display_name',
  'role',
  'status',
  'failed_login_count',
  'locked_until',
  'last_login_at',
  'password_changed_at',
  'created_at',
  'updated_at',
  'approved_at',
  'rejected_at',
  'email_verified_at',
] as const;

/** A `users` row without its password hash. */
export type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;

/** Maps a `users` row (selected with {@link USER_COLUMNS}) to a {@link User}. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    status: row.status,
    failedLoginCount: row.failed_login_count,
    lockedUntil: row.locked_until,
    lastLoginAt: row.last_login_at,
    passwordChangedAt: row.password_changed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    approvedAt: row.approved_at,
    rejectedAt: row.rejected_at,
    emailVerifiedAt: row.email_verified_at,
  };
}
