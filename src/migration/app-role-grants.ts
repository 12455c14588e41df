import { quoteIdentifier } from '../sql/identifier.js';

/**
 * Every privilege the app role holds on carebase's objects: the one list that `grantAppRole()`
 * applies and docs/security.md prints. Anything not listed is revoked.
 *
 * - Tables not listed, and privileges not listed, are never granted: no DDL (no CREATE on the
 *   schema, no ownership), no TRUNCATE, REFERENCES or TRIGGER anywhere, no UPDATE or DELETE on the
 *   audit tables, no write access to `audit_chain`, `audit_chain_head` or `audit_seal_state`.
 * - The analytics rollup tables hold derived counts (recomputed from raw events by
 *   `refreshRollups`), so the app role maintains them itself; they are not evidence. Likewise the
 *   chat usage rollups (`chat_usage_daily*`, recomputed from the ledger by `refreshUsageRollups`).
 * - Partitions, sealing and analytics retention go through the SECURITY DEFINER functions listed
 *   in {@link APP_ROLE_FUNCTIONS}; audit retention (dropping audit partitions) is owner-only.
 *
 * @example
 * ```ts
 * import { APP_ROLE_TABLE_PRIVILEGES } from 'carebase/migration';
 * // A deploy check: the app role may never change audit rows.
 * console.assert(!APP_ROLE_TABLE_PRIVILEGES.audit_log?.includes('UPDATE'));
 * ```
 */
export const APP_ROLE_TABLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  users: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  sessions: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  account_tokens: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  auth_rate_limits: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  user_mfa: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  mfa_backup_codes: ['SELECT', 'INSERT', 'DELETE'],
  mfa_challenges: ['SELECT', 'INSERT', 'DELETE'],
  conversations: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  conversation_participants: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  chat_usage: ['SELECT', 'INSERT', 'DELETE'],
  chat_usage_daily: ['SELECT', 'INSERT', 'DELETE'],
  chat_usage_daily_totals: ['SELECT', 'INSERT', 'DELETE'],
  chat_usage_rollup_state: ['SELECT', 'UPDATE'],
  chat_usage_rollup_dirty: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  chat_messages: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  encryption_data_keys: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  audit_log: ['SELECT', 'INSERT'],
  audit_chain: ['SELECT'],
  audit_chain_head: ['SELECT'],
  audit_seal_state: ['SELECT'],
  audit_installation: ['SELECT'],
  analytics_events: ['SELECT', 'INSERT', 'DELETE'],
  analytics_user_keys: ['SELECT', 'INSERT', 'DELETE'],
  analytics_rollup_hourly: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  analytics_rollup_hourly_users: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  analytics_rollup_state: ['SELECT', 'UPDATE'],
  analytics_rollup_dirty: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  analytics_rollup_hourly_measures: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  analytics_rollup_hourly_sketch: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  analytics_rollup_daily_sketch: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  partitioned_tables: ['SELECT'],
  audit_import_keys: ['SELECT', 'INSERT'],
  schema_migrations: ['SELECT'],
});

/**
 * The functions the app role may execute beyond those open to everyone: the owner's SECURITY
 * DEFINER functions for run-time bookkeeping, and `audit_verify` (SECURITY INVOKER, read-only).
 *
 * @example
 * ```ts
 * import { APP_ROLE_FUNCTIONS } from 'carebase/migration';
 * for (const fn of APP_ROLE_FUNCTIONS) console.log(`GRANT EXECUTE ON FUNCTION carebase.${fn}`);
 * ```
 */
export const APP_ROLE_FUNCTIONS: readonly string[] = Object.freeze([
  'audit_seal()',
  'audit_seal_pending()',
  'audit_analyze_stale()',
  'audit_ensure_partitions(timestamptz, integer)',
  'analytics_ensure_partitions(timestamptz, integer)',
  'analytics_drop_partitions_before(timestamptz)',
  'audit_verify(timestamptz, timestamptz)',
  'partitioned_table_ensure(text, text, timestamptz, integer)',
  'partitioned_table_apply_retention(text, text)',
  'rls_conversations()',
  'session_lookup(bytea)',
  'sessions_purge(timestamptz, timestamptz)',
  'chat_apply_retention(timestamptz, timestamptz)',
  'analytics_track(timestamptz, uuid, text, text, text, jsonb, jsonb)',
]);

/**
 * The tables whose row-level security `grantAppRole({ rowSecurity })` turns on or off: their
 * policies (migrations 0043, 0047 and 0049) show a role other than the owner only the rows of the
 * user named by the transaction-local setting `carebase.actor_user_id`, the analytics tables every
 * row in the analytics repository's own transactions and the chat usage ledger and its
 * per-conversation rollup every row in the usage rollups' (`carebase.system_scope`;
 * docs/security.md, "Row-level security").
 *
 * @example
 * ```ts
 * import { ROW_SECURITY_TABLES } from 'carebase/migration';
 * console.log(ROW_SECURITY_TABLES.includes('chat_messages')); // true
 * ```
 */
export const ROW_SECURITY_TABLES: readonly string[] = Object.freeze([
  'conversations',
  'conversation_participants',
  'chat_messages',
  'chat_usage',
  'chat_usage_daily',
  'sessions',
  'analytics_events',
  'analytics_user_keys',
]);

/** The statements that enable (or disable) row-level security on {@link ROW_SECURITY_TABLES}. */
export function rowSecurityStatements(schema: string, enabled: boolean): string[] {
  const s = quoteIdentifier(schema);
  return ROW_SECURITY_TABLES.map(
    (table) =>
      `alter table ${s}.${quoteIdentifier(table)} ${enabled ? 'enable' : 'disable'} row level security`,
  );
}

/**
 * The SQL `grantAppRole()` runs (after checks, and after creating the role when asked), in one
 * transaction: first everything is revoked, then exactly the privileges above are granted, so a
 * rerun also removes privileges granted by hand or by older instructions.
 */
export function appRoleGrantStatements(schema: string, role: string): string[] {
  const s = quoteIdentifier(schema);
  const r = quoteIdentifier(role);
  const statements = [
    `revoke all on all tables in schema ${s} from ${r}`,
    `revoke all on all sequences in schema ${s} from ${r}`,
    `revoke all on all functions in schema ${s} from ${r}`,
    `revoke all on schema ${s} from ${r}`,
    `grant usage on schema ${s} to ${r}`,
  ];
  for (const [table, privileges] of Object.entries(APP_ROLE_TABLE_PRIVILEGES)) {
    statements.push(`grant ${privileges.join(', ')} on ${s}.${quoteIdentifier(table)} to ${r}`);
  }
  for (const fn of APP_ROLE_FUNCTIONS) statements.push(`grant execute on function ${s}.${fn} to ${r}`);
  return statements;
}
