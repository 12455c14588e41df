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

const CRUD = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

export const NEEDED_PRIVILEGES: readonly NeededPrivileges[] = [
  // cb.health() reports pending migrations.
  { table: 'schema_migrations', privileges: ['SELECT'] },
  { table: 'users', privileges: CRUD },
  { table: 'sessions', privileges: CRUD },
  { table: 'conversations', privileges: CRUD },
  { table: 'chat_messages', privileges: CRUD },
  { table: 'audit_log', privileges: ['SELECT', 'INSERT'] },
  { table: 'audit_chain', privileges: ['SELECT', 'INSERT'], unlessDefiner: ['audit_seal'] },
  { table: 'audit_chain_head', privileges: ['SELECT', 'INSERT', 'UPDATE'], unlessDefiner: ['audit_seal'] },
  { table: 'audit_seal_state', privileges: ['SELECT', 'UPDATE'], unlessDefiner: ['audit_seal'] },
  { table: 'analytics_events', privileges: ['SELECT', 'INSERT', 'DELETE'] },
  { table: 'analytics_user_keys', privileges: CRUD },
  { table: 'analytics_rollup_hourly', privileges: CRUD },
  { table: 'analytics_rollup_hourly_users', privileges: CRUD },
  { table: 'analytics_rollup_state', privileges: ['SELECT', 'UPDATE'] },
  { table: 'analytics_rollup_dirty', privileges: CRUD },
];

/** Audit tables the application must NOT be able to change or empty. */
export const AUDIT_APPEND_ONLY = ['audit_log', 'audit_chain'] as const;
