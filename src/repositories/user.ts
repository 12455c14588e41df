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
  readonly username: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: string;
  /** `disabled` accounts cannot log in and their sessions do not validate. */
  readonly status: 'active' | 'disabled';
  /** Consecutive failed logins since the last success or unlock. */
  readonly failedLoginCount: number;
  /** Set while the account is locked out; logins fail with `locked` until then. */
  readonly lockedUntil: Date | null;
  readonly lastLoginAt: Date | null;
  readonly passwordChangedAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
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
  };
}
