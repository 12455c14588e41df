import type { AccountTokensTable } from './account-tokens.js';
import type {
  AnalyticsEventsTable,
  AnalyticsRollupDailySketchTable,
  AnalyticsRollupDirtyTable,
  AnalyticsRollupHourlyMeasuresTable,
  AnalyticsRollupHourlySketchTable,
  AnalyticsRollupHourlyTable,
  AnalyticsRollupHourlyUsersTable,
  AnalyticsRollupStateTable,
  AnalyticsUserKeysTable,
} from './analytics.js';
import type {
  AuditChainHeadTable,
  AuditChainTable,
  AuditImportKeysTable,
  AuditInstallationTable,
  AuditLogTable,
  AuditSealStateTable,
} from './audit.js';
import type { AuthRateLimitsTable } from './auth-rate-limits.js';
import type {
  ChatMessagesTable,
  ChatUsageTable,
  ConversationParticipantsTable,
  ConversationsTable,
} from './chat.js';
import type {
  ChatUsageDailyTable,
  ChatUsageDailyTotalsTable,
  ChatUsageRollupDirtyTable,
  ChatUsageRollupStateTable,
} from './chat-usage-rollups.js';
import type { EncryptionDataKeysTable } from './encryption.js';
import type { MfaBackupCodesTable, MfaChallengesTable, UserMfaTable } from './mfa.js';
import type { SchemaMigrationsTable } from './migrations.js';
import type { PartitionedTablesTable } from './partitioned-tables.js';
import type { SessionsTable } from './sessions.js';
import type { UsersTable } from './users.js';

/**
 * The Kysely database interface of every table carebase creates, keyed by table name in the
 * carebase schema (default `carebase`). `cb.db` is a `Kysely<CarebaseDatabase>` already scoped to
 * that schema, so `cb.db.selectFrom('users')` reads `carebase.users`.
 *
 * A test introspects a migrated database and fails if any column, type or nullability here
 * differs from the schema the migrations create.
 *
 * @example
 * ```ts
 * import type { CarebaseDatabase } from 'carebase';
 * import type { Kysely } from 'kysely';
 * // A host query typed against carebase's tables; runs on cb.db or on a transaction's tx.db.
 * async function usersSeenSince(db: Kysely<CarebaseDatabase>, since: Date) {
 *   return db
 *     .selectFrom('users')
 *     .innerJoin('sessions', 'sessions.user_id', 'users.id')
 *     .select(['users.id', 'users.username'])
 *     .distinct()
 *     .where('sessions.last_seen_at', '>=', since)
 *     .execute();
 * }
 * const active = await usersSeenSince(cb.db, new Date(Date.now() - 86_400_000));
 * ```
 */
export interface CarebaseDatabase {
  schema_migrations: SchemaMigrationsTable;
  users: UsersTable;
  sessions: SessionsTable;
  account_tokens: AccountTokensTable;
  auth_rate_limits: AuthRateLimitsTable;
  user_mfa: UserMfaTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_challenges: MfaChallengesTable;

  audit_log: AuditLogTable;
  audit_chain: AuditChainTable;
  audit_chain_head: AuditChainHeadTable;
  audit_seal_state: AuditSealStateTable;
  audit_installation: AuditInstallationTable;
  audit_import_keys: AuditImportKeysTable;

  conversations: ConversationsTable;
  chat_messages: ChatMessagesTable;
  conversation_participants: ConversationParticipantsTable;
  chat_usage: ChatUsageTable;
  chat_usage_daily: ChatUsageDailyTable;
  chat_usage_daily_totals: ChatUsageDailyTotalsTable;
  chat_usage_rollup_state: ChatUsageRollupStateTable;
  chat_usage_rollup_dirty: ChatUsageRollupDirtyTable;
  encryption_data_keys: EncryptionDataKeysTable;

  analytics_events: AnalyticsEventsTable;
  analytics_user_keys: AnalyticsUserKeysTable;
  analytics_rollup_hourly: AnalyticsRollupHourlyTable;
  analytics_rollup_hourly_users: AnalyticsRollupHourlyUsersTable;
  analytics_rollup_state: AnalyticsRollupStateTable;
  analytics_rollup_dirty: AnalyticsRollupDirtyTable;
  analytics_rollup_hourly_measures: AnalyticsRollupHourlyMeasuresTable;
  analytics_rollup_hourly_sketch: AnalyticsRollupHourlySketchTable;
  analytics_rollup_daily_sketch: AnalyticsRollupDailySketchTable;
  partitioned_tables: PartitionedTablesTable;
}
