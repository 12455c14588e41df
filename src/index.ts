/**
 * carebase: the PostgreSQL data layer for clinical and AI-assistant apps.
 *
 * @packageDocumentation
 */

// The instance: create it, scope it, attribute writes

export { Carebase, CarebaseScope, type CreateCarebaseExtras, createCarebase } from './carebase.js';
export { type Actor, type ActorInput, ActorSchema } from './repositories/context.js';

// Configuration

export {
  type AnalyticsOptions,
  AnalyticsOptionsSchema,
  type ResolvedAnalyticsOptions,
} from './config/analytics-options.js';
export {
  type AuditOptions,
  AuditOptionsSchema,
  DEFAULT_REDACT_KEYS,
  type ResolvedAuditOptions,
} from './config/audit-options.js';
export { type ChatOptions, ChatOptionsSchema, type ResolvedChatOptions } from './config/chat-options.js';
export { type Clock, systemClock } from './config/clock.js';
export { type CarebaseEnv, configFromEnv } from './config/from-env.js';
export {
  type MigrationsOptions,
  MigrationsOptionsSchema,
  type ResolvedMigrationsOptions,
} from './config/migrations-options.js';
export { type CarebaseOptions, CarebaseOptionsSchema } from './config/options.js';
export {
  POOL_DEFAULTS,
  type PoolerMode,
  PoolerModeSchema,
  type PoolOptions,
  PoolOptionsSchema,
  type ResolvedPoolOptions,
  type ResolvedSslOptions,
  type SslMode,
  SslModeSchema,
  type SslOptions,
  SslOptionsSchema,
} from './config/pool-options.js';
export {
  type ReplicaReadsOptions,
  ReplicaReadsOptionsSchema,
  type ResolvedReplicaReadsOptions,
} from './config/replica-options.js';
export { type ResolvedConfig, type ResolvedConnection, resolveConfig } from './config/resolve.js';
export { Secret } from './config/secret.js';
export {
  type ResolvedSessionsOptions,
  SESSION_PRESETS,
  type SessionPreset,
  type SessionsOptions,
  SessionsOptionsSchema,
} from './config/sessions-options.js';
export {
  DEFAULT_ROLES,
  type ResolvedUsersOptions,
  type UsersOptions,
  UsersOptionsSchema,
} from './config/users-options.js';

// Errors

export {
  AbortError,
  BackupError,
  type BackupErrorOptions,
  CarebaseError,
  type CarebaseErrorByCode,
  type CarebaseErrorCode,
  type CarebaseErrorOptions,
  ClosedError,
  ConflictError,
  ConnectionError,
  type ConnectionErrorOptions,
  type ConnectionFailureReason,
  ConstraintViolationError,
  ForbiddenError,
  InvalidConfigurationError,
  isCarebaseError,
  MigrationError,
  NotFoundError,
  PoolTimeoutError,
  QueryError,
  SerializationFailureError,
  StatementTimeoutError,
  ValidationError,
  type ValidationIssue,
} from './errors/errors.js';
export { DRIVER_ERROR, DriverErrorSummary, type PgErrorLike } from './errors/map-error.js';

// Validation: the shared checks every repository applies before any SQL

export { EARLIEST_DATE_MS, LATEST_DATE_MS, StorableDate } from './validation/dates.js';
export {
  checkJson,
  JSON_MAX_BYTES,
  JSON_MAX_DEPTH,
  type JsonLimits,
  type JsonProblem,
  jsonObjectSchema,
} from './validation/json.js';
export { StorableText } from './validation/text.js';

// Logging

export { type Logger, silentLogger } from './logging/logger.js';

// Pool, transactions and health

export { createPool, poolConfigFrom } from './pool/create-pool.js';
export type { HealthReport } from './pool/health.js';
export type { ReplicaHealth, ReplicaState } from './pool/replica.js';
export { type TransactionOptions, TransactionOptionsSchema } from './pool/transaction.js';

// Users

export type { User } from './repositories/user.js';
export type { AuthenticationFailure, AuthenticationResult } from './repositories/users/authenticate.js';
export {
  EmailVerificationApi,
  type EmailVerificationResult,
  type EmailVerificationTicket,
} from './repositories/users/email-verification.js';
export type { LegacyPasswordHashCount } from './repositories/users/imported-password.js';
export {
  MfaApi,
  MfaVerifyInput,
  type MfaVerifyResult,
  type TotpEnrollment,
} from './repositories/users/mfa.js';
export {
  PasswordResetApi,
  PasswordResetCompleteInput,
  PasswordResetRequestInput,
  type PasswordResetResult,
  type PasswordResetTicket,
} from './repositories/users/password-reset.js';
export type { RateLimitedResult } from './repositories/users/rate-limiter.js';
export type { ExportedAuditEntry, UserDataExport, UserErasure } from './repositories/users/user-data.js';
export {
  AuthenticateInput,
  ChangePasswordInput,
  DisplayNameInput,
  EmailInput,
  ImportedPasswordHash,
  PASSWORD_MAX_BYTES,
  PASSWORD_MAX_LENGTH,
  PasswordInput,
  RecordLoginInput,
  RegisterOptions,
  RejectInput,
  RoleInput,
  UserCreateInput,
  UserListInput,
  UsernameInput,
  UserRegisterInput,
  UserUpdateInput,
} from './repositories/users/user-inputs.js';
export { type UserPage, UsersRepository } from './repositories/users/users-repository.js';
export type { LegacyHashScheme } from './security/password-hashes/imported-hash.js';

export type {
  PasswordCheck,
  PasswordPolicyContext,
} from './security/password-policy.js';

// Sessions

export type { Session } from './repositories/sessions/session.js';
export {
  PurgeExpiredInput,
  RecordAuthenticationInput,
  RevokeAllInput,
  RevokeReasonInput,
  SessionCreateInput,
  SessionListInput,
  SessionValidateInput,
} from './repositories/sessions/session-inputs.js';
export {
  type CreatedSession,
  type SessionPage,
  SessionsRepository,
  type ValidatedSession,
} from './repositories/sessions/sessions-repository.js';

// Audit

export { AuditAccessInput, AuditDisclosureInput } from './repositories/audit/access.js';
export type { AuditEntry } from './repositories/audit/audit-entry.js';
export { AuditRepository } from './repositories/audit/audit-repository.js';
export { AuditCheckpointInput, type AuditCheckpointResult } from './repositories/audit/checkpoint.js';
export {
  type AuditCheckpointMonth,
  type AuditCheckpointStatement,
  readCheckpointStatement,
  type SignedAuditCheckpoint,
  SignedAuditCheckpointSchema,
} from './repositories/audit/checkpoint-format.js';
export {
  type CheckpointSchedule,
  type ScheduleCheckpointsOptions,
  ScheduleCheckpointsOptionsSchema,
  scheduleCheckpoints,
} from './repositories/audit/checkpoint-schedule.js';
export {
  type AuditCheckpointSink,
  directoryCheckpointSink,
  readCheckpoints,
} from './repositories/audit/checkpoint-sink.js';
export { AuditExportInput } from './repositories/audit/export.js';
export { type AuditPage, AuditQueryInput } from './repositories/audit/query.js';
export {
  AuditEntryInput,
  type AuditLogResult,
  AuditSeverity,
  PURPOSE_OF_USE_CODES,
} from './repositories/audit/record.js';
export {
  AccessReportInput,
  type AuditDisclosure,
  AuditReports,
  BreakGlassReportInput,
  DisclosureReportInput,
} from './repositories/audit/report.js';
export { AuditRetentionInput, type AuditRetentionResult } from './repositories/audit/retention.js';
export {
  type AuditTamperReason,
  AuditVerifyInput,
  type AuditVerifyResult,
} from './repositories/audit/verify.js';
export type { AuditCheckpointRef } from './repositories/audit/verify-checkpoints.js';

// Imports

export {
  ExternalId,
  ImportAuditInput,
  ImportAuditRow,
  ImportConversationRow,
  ImportConversationsInput,
  ImportMessageRow,
  ImportMessagesInput,
  ImportSource,
  ImportTime,
  ImportUserRow,
  ImportUsersInput,
} from './repositories/imports/import-inputs.js';
export type { ImportRefusal, ImportReport } from './repositories/imports/import-report.js';
export { ImportsRepository } from './repositories/imports/imports-repository.js';

// Chat

export {
  ChatAppendInput,
  ChatAppendManyInput,
  ChatClearInput,
  ChatContent,
  ChatExportInput,
  ChatHistoryInput,
  ChatLatestInput,
  ChatMetadata,
  ChatRetentionInput,
  ChatRoleSchema,
  ChatSearchInput,
  ConversationCreateInput,
  ConversationListInput,
  ConversationRefInput,
  ConversationRenameInput,
} from './repositories/chat/chat-inputs.js';
export { ChatRepository } from './repositories/chat/chat-repository.js';
export type {
  ChatMessage,
  ChatPage,
  ChatSearchHit,
  ChatSearchPage,
  Conversation,
} from './repositories/chat/chat-types.js';
// exportChatForUser / eraseChatForUser are internal: hosts call cb.users.exportData / erase.
export type { ChatDataExport, ChatErasureCounts } from './repositories/chat/data-subject.js';
export {
  CHAT_EXPORT_FORMAT,
  CHAT_EXPORT_FORMAT_VERSION,
  type ChatExportFormat,
} from './repositories/chat/export-chat.js';
export {
  ChatImportOptions,
  type ChatImportProgress,
  type ChatImportResult,
  LegacyChatFile,
  legacyClientId,
} from './repositories/chat/import-legacy.js';

// Analytics

export { AnalyticsBuffer, AnalyticsBufferOptions } from './repositories/analytics/analytics-buffer.js';
export { AnalyticsRepository, type TrackManyResult } from './repositories/analytics/analytics-repository.js';
export {
  AnalyticsRetentionInput,
  type AnalyticsRetentionResult,
} from './repositories/analytics/apply-retention.js';
// exportAnalyticsForUser / eraseAnalyticsForUser are internal (called by cb.users.exportData/erase).
export type { AnalyticsUserExport, ExportedAnalyticsEvent } from './repositories/analytics/data-subject.js';
export {
  AnalyticsEventInput,
  type RejectedEvent,
  TrackManyOptions,
} from './repositories/analytics/event-input.js';
export {
  type AnalyticsFunnel,
  AnalyticsFunnelInput,
  type AnalyticsFunnelStep,
  type AnalyticsRetentionCohort,
  AnalyticsRetentionCohortsInput,
} from './repositories/analytics/funnel-input.js';
export {
  type AnalyticsActiveUsersBucket,
  AnalyticsActiveUsersInput,
  type AnalyticsBucket,
  type AnalyticsEventCount,
  type AnalyticsMeasureStats,
  type AnalyticsSummary,
  AnalyticsSummaryInput,
  AnalyticsTimeseriesInput,
  AnalyticsTopEventsInput,
} from './repositories/analytics/query-input.js';
export type { RefreshRollupsResult } from './repositories/analytics/refresh-rollups.js';
export { PartitionedTable } from './repositories/partitioned-tables/partitioned-table.js';
export {
  type EnsurePartitionsOptions,
  PartitionedTableOptions,
  type PartitionRetentionResult,
} from './repositories/partitioned-tables/partitioned-table-options.js';

// Database schema: the Kysely types of carebase's tables

export type { AccountTokensTable } from './schema/account-tokens.js';
export type {
  AnalyticsEventsTable,
  AnalyticsRollupDailySketchTable,
  AnalyticsRollupDirtyTable,
  AnalyticsRollupHourlyMeasuresTable,
  AnalyticsRollupHourlySketchTable,
  AnalyticsRollupHourlyTable,
  AnalyticsRollupHourlyUsersTable,
  AnalyticsRollupStateTable,
  AnalyticsUserKeysTable,
} from './schema/analytics.js';
export type {
  AuditChainHeadTable,
  AuditChainTable,
  AuditImportKeysTable,
  AuditInstallationTable,
  AuditLogTable,
  AuditSealStateTable,
  JsonValue,
} from './schema/audit.js';
export type { AuthRateLimitsTable } from './schema/auth-rate-limits.js';
export type { ChatMessagesTable, ChatRole, ConversationsTable } from './schema/chat.js';
export type { CarebaseDatabase } from './schema/database.js';
export type { MfaBackupCodesTable, MfaChallengesTable, UserMfaTable } from './schema/mfa.js';
export type { SchemaMigrationsTable } from './schema/migrations.js';
export type { PartitionedTablesTable } from './schema/partitioned-tables.js';
export type { SessionsTable } from './schema/sessions.js';
export type { UsersTable } from './schema/users.js';
