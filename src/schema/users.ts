import type { ColumnType, Generated } from 'kysely';

/**
 * `users`: one row per account. `password_hash` never leaves the users repository.
 *
 * @example
 * ```ts
 * // Active nurses for a staffing report (never select password_hash: it stays in the repository).
 * const nurses = await cb.db
 *   .selectFrom('users')
 *   .select(['id', 'username', 'display_name', 'last_login_at'])
 *   .where('role', '=', 'nurse')
 *   .where('status', '=', 'active')
 *   .orderBy('username')
 *   .execute();
 * ```
 */
export interface UsersTable {
  id: Generated<string>;
  username: string | null;
  email: string;
  display_name: string | null;
  password_hash: string;
  role: string;
  status: ColumnType<'pending' | 'active' | 'disabled', 'pending' | 'active' | 'disabled' | undefined>;
  failed_login_count: Generated<number>;
  locked_until: Date | null;
  last_login_at: Date | null;
  /** The system an imported user came from (`cb.imports.users`); null for carebase's own. */
  import_source: ColumnType<string | null, string | null | undefined, string | null>;
  /** The user's id in `import_source`; unique per source. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  password_changed_at: Generated<Date>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  approved_at: Date | null;
  rejected_at: Date | null;
  rejection_reason: string | null;
  email_verified_at: Date | null;
  lockout_count: Generated<number>;
}
