import { APP_ROLE_FUNCTIONS, APP_ROLE_TABLE_PRIVILEGES } from '../../../migration/app-role-grants.js';

/**
 * The table privileges the application role needs at run time, per carebase table. Tables that
 * carebase's functions write for the application are listed with `unlessDefiner`: once those
 * functions are `SECURITY DEFINER` (owned by the owner role), the app needs no grant on the
 * table, only EXECUTE on the function, and doctor stops asking for it. This is the one place to
 * update when the roles model changes.
 */
export interface NeededPrivileges {
  readonly table: string;
  readonly privileges: readonly ('SELECT' | 'INSERT' | 'UPDATE' | 'DELETE')[];
  /** Functions that write the table on the app's behalf. */
  readonly unlessDefiner?: readonly string[];
}

/**
 * What `grantAppRole()` grants (carebase/migration's `APP_ROLE_TABLE_PRIVILEGES`, the one list):
 * doctor asks for exactly that. The audit chain and seal state are written by the owner's
 * SECURITY DEFINER `audit_seal()`, so the app needs SELECT there only.
 */
export const NEEDED_PRIVILEGES: readonly NeededPrivileges[] = Object.entries(APP_ROLE_TABLE_PRIVILEGES).map(
  ([table, privileges]) => ({ table, privileges: privileges as NeededPrivileges['privileges'] }),
);

/** The functions the app role must be able to execute (`APP_ROLE_FUNCTIONS`, by name). */
export const NEEDED_FUNCTIONS: readonly string[] = APP_ROLE_FUNCTIONS.map((fn) =>
  fn.slice(0, fn.indexOf('(')),
);

/** Audit tables the application must NOT be able to change or empty. */
export const AUDIT_APPEND_ONLY = ['audit_log', 'audit_chain'] as const;
