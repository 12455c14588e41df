/**
 * carebase: the PostgreSQL data layer for clinical and AI-assistant apps.
 *
 * @packageDocumentation
 */

// The instance: create it, scope it, attribute writes

export { Carebase, CarebaseScope, type CreateCarebaseExtras, createCarebase } from './carebase.js';
export type { Actor, ActorInput } from './repositories/context.js';

// Configuration

export type { AnalyticsOptions, ResolvedAnalyticsOptions } from './config/analytics-options.js';
export { type AuditOptions, DEFAULT_REDACT_KEYS, type ResolvedAuditOptions } from './config/audit-options.js';
export type { ChatOptions, ResolvedChatOptions } from './config/chat-options.js';
export { type Clock, systemClock } from './config/clock.js';
export { type CarebaseEnv, configFromEnv } from './config/from-env.js';
export type { MigrationsOptions, ResolvedMigrationsOptions } from './config/migrations-options.js';
export type { CarebaseOptions } from './config/options.js';
export {
  POOL_DEFAULTS,
  type PoolerMode,
  type PoolOptions,
  type ResolvedPoolOptions,
  type ResolvedSslOptions,
  type SslMode,
  type SslOptions,
} from './config/pool-options.js';
export type { ReplicaReadsOptions, ResolvedReplicaReadsOptions } from './config/replica-options.js';
export { type ResolvedConfig, type ResolvedConnection, resolveConfig } from './config/resolve.js';
export { Secret } from './config/secret.js';
export {
  type ResolvedSessionsOptions,
  SESSION_PRESETS,
  type SessionPreset,
  type SessionsOptions,
} from './config/sessions-options.js';
export {
  DEFAULT_ROLES,
  type MfaKeyInput,
  type ResolvedUsersOptions,
  type UsersOptions,
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
  DecryptionError,
  type DecryptionFailure,
  ForbiddenError,
  InvalidConfigurationError,
  isCarebaseError,
  MigrationError,
  NotFoundError,
  PoolTimeoutError,
  QueryError,
  SerializationFailureError,
  StatementTimeoutError,
  UnsupportedOperationError,
  ValidationError,
  type ValidationIssue,
  VersionConflictError,
} from './errors/errors.js';

// Encryption and pseudonyms (docs/encryption.md)

export type {
  EncryptionOptions,
  PseudonymOptions,
  ResolvedEncryptionOptions,
  ResolvedPseudonymOptions,
} from './config/encryption-options.js';
export { DRIVER_ERROR, DriverErrorSummary, type PgErrorLike } from './errors/map-error.js';
export type {
  EncryptExistingOptions,
  EncryptExistingProgress,
  EncryptExistingResult,
} from './repositories/chat-encryption/encrypt-existing.js';
export { EncryptionApi } from './repositories/chat-encryption/encryption-api.js';
export type {
  RotateDataKeyOptions,
  RotateDataKeyProgress,
  RotateDataKeyResult,
} from './repositories/chat-encryption/rotate-data-key.js';
export type { RewrapKeysOptions, RewrapKeysProgress } from './repositories/encryption/rewrap-keys.js';
export {
  type Keyring,
  type KeyUnwrapInput,
  type KeyWrapInput,
  type LocalKeyringOptions,
  localKeyring,
  localKeyringFromEnv,
} from './security/keyring.js';
export { PSEUDONYM_PREFIX } from './security/pseudonym.js';
export type { PseudonymInput } from './validation/pseudonym-input.js';

// Validation: the shared checks every repository applies before any SQL

export { EARLIEST_DATE_MS, LATEST_DATE_MS } from './validation/dates.js';
export {
  checkJson,
  JSON_MAX_BYTES,
  JSON_MAX_DEPTH,
  type JsonLimits,
  type JsonProblem,
} from './validation/json.js';

// Logging

export { type Logger, silentLogger } from './logging/logger.js';

// Observability: the onQuery hook and OpenTelemetry

export type { ResolvedTelemetryOptions, TelemetryOptions } from './config/telemetry-options.js';
export type { QueryEvent, QueryListener } from './telemetry/query-event.js';
export type { MeterProviderLike, TracerProviderLike } from './telemetry/telemetry.js';

// Pool, transactions and health

export { createPool, poolConfigFrom } from './pool/create-pool.js';
export type { HealthReport } from './pool/health.js';
export type { ReplicaHealth, ReplicaState } from './pool/replica.js';
export type { TransactionOptions } from './pool/transaction.js';

// Users

export type { User } from './repositories/user.js';
export type { AuthenticationFailure, AuthenticationResult } from './repositories/users/authenticate.js';
export {
  EmailVerificationApi,
  type EmailVerificationCompleteOptions,
  type EmailVerificationResult,
  type EmailVerificationTicket,
} from './repositories/users/email-verification.js';
export type { LegacyPasswordHashCount } from './repositories/users/imported-password.js';
export {
  MfaApi,
  type MfaVerifyInput,
  type MfaVerifyResult,
  type TotpEnrollment,
} from './repositories/users/mfa.js';
export {
  PasswordResetApi,
  type PasswordResetCompleteInput,
  type PasswordResetRequestInput,
  type PasswordResetResult,
  type PasswordResetTicket,
} from './repositories/users/password-reset.js';
export type { RateLimitedResult } from './repositories/users/rate-limiter.js';
export type { ExportedAuditEntry, UserDataExport, UserErasure } from './repositories/users/user-data.js';
export {
  type AuthenticateInput,
  type ChangePasswordInput,
  type ImportedPasswordHash,
  PASSWORD_MAX_BYTES,
  PASSWORD_MAX_LENGTH,
  type PasswordResetIssueInput,
  type RecordLoginInput,
  type RegisterOptions,
  type RejectInput,
  type UserCreateInput,
  type UserListInput,
  type UserRegisterInput,
  type UserUpdateInput,
} from './repositories/users/user-inputs.js';
export { type UserPage, UsersRepository } from './repositories/users/users-repository.js';
export type { LegacyHashScheme } from './security/password-hashes/imported-hash.js';

export type {
  PasswordCheck,
  PasswordPolicyContext,
} from './security/password-policy.js';

// Sessions

export type { Session } from './repositories/sessions/session.js';
export type {
  PurgeExpiredInput,
  RecordAuthenticationInput,
  RevokeAllInput,
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

export type { AuditAccessInput, AuditDisclosureInput } from './repositories/audit/access.js';
export type { AuditEntry } from './repositories/audit/audit-entry.js';
export { AuditRepository } from './repositories/audit/audit-repository.js';
export type {
  AuditCheckpointInput,
  AuditCheckpointResult,
} from './repositories/audit/checkpoint.js';
export {
  type AuditCheckpointMonth,
  type AuditCheckpointStatement,
  readCheckpointStatement,
  type SignedAuditCheckpoint,
} from './repositories/audit/checkpoint-format.js';
export {
  type CheckpointSchedule,
  type ScheduleCheckpointsOptions,
  scheduleCheckpoints,
} from './repositories/audit/checkpoint-schedule.js';
export {
  type AuditCheckpointSink,
  directoryCheckpointSink,
  readCheckpoints,
} from './repositories/audit/checkpoint-sink.js';
export type { AuditExportInput } from './repositories/audit/export.js';
export type { AuditPage, AuditQueryInput } from './repositories/audit/query.js';
export {
  type AuditEntryInput,
  type AuditLogResult,
  type AuditSeverity,
  PURPOSE_OF_USE_CODES,
} from './repositories/audit/record.js';
export {
  type AccessReportInput,
  type AuditDisclosure,
  AuditReports,
  type BreakGlassReportInput,
  type DisclosureReportInput,
} from './repositories/audit/report.js';
export type { AuditRetentionInput, AuditRetentionResult } from './repositories/audit/retention.js';
export type { AuditTamperReason, AuditVerifyInput, AuditVerifyResult } from './repositories/audit/verify.js';
export type { AuditCheckpointRef } from './repositories/audit/verify-checkpoints.js';

// Imports

export type {
  ImportAuditInput,
  ImportAuditRow,
  ImportConversationRow,
  ImportConversationsInput,
  ImportMessageRow,
  ImportMessagesInput,
  ImportUserRow,
  ImportUsersInput,
} from './repositories/imports/import-inputs.js';
export type { ImportRefusal, ImportReport } from './repositories/imports/import-report.js';
export { ImportsRepository } from './repositories/imports/imports-repository.js';

// Chat

export type {
  ChatAppendInput,
  ChatAppendManyInput,
  ChatClearInput,
  ChatExportInput,
  ChatHistoryInput,
  ChatLatestInput,
  ChatRetentionInput,
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
  type ChatImportOptions,
  type ChatImportProgress,
  type ChatImportResult,
  type LegacyChatFile,
  legacyClientId,
} from './repositories/chat/import-legacy.js';
export { SEARCH_INDEX_CHARS } from './repositories/chat/search-index-limit.js';
export type {
  ConversationParticipant,
  ConversationUpdate,
  ParticipantAddInput,
  ParticipantRemoveInput,
} from './repositories/chat/sharing-inputs.js';
export type {
  ChatContextInput,
  ChatContextWindow,
  ChatEditInput,
  ChatPathInput,
  ChatRegenerateInput,
  ChatSetActiveLeafInput,
  ChatSiblings,
  ChatSiblingsInput,
  ChatTokenCounter,
} from './repositories/chat/tree-inputs.js';
export type {
  ChatUsageQuery,
  ChatUsageRecord,
  ChatUsageRow,
} from './repositories/chat/usage-inputs.js';

// Analytics

export { AnalyticsBuffer, type AnalyticsBufferOptions } from './repositories/analytics/analytics-buffer.js';
export { AnalyticsRepository, type TrackManyResult } from './repositories/analytics/analytics-repository.js';
export type {
  AnalyticsRetentionInput,
  AnalyticsRetentionResult,
} from './repositories/analytics/apply-retention.js';
// exportAnalyticsForUser / eraseAnalyticsForUser are internal (called by cb.users.exportData/erase).
export type { AnalyticsUserExport, ExportedAnalyticsEvent } from './repositories/analytics/data-subject.js';
export type {
  AnalyticsEventInput,
  RejectedEvent,
  TrackManyOptions,
} from './repositories/analytics/event-input.js';
export type {
  AnalyticsFunnel,
  AnalyticsFunnelInput,
  AnalyticsFunnelStep,
  AnalyticsRetentionCohort,
  AnalyticsRetentionCohortsInput,
} from './repositories/analytics/funnel-input.js';
export type {
  AnalyticsActiveUsersBucket,
  AnalyticsActiveUsersInput,
  AnalyticsBucket,
  AnalyticsEventCount,
  AnalyticsMeasureStats,
  AnalyticsSummary,
  AnalyticsSummaryInput,
  AnalyticsTimeseriesInput,
  AnalyticsTopEventsInput,
} from './repositories/analytics/query-input.js';
export type { RefreshRollupsResult } from './repositories/analytics/refresh-rollups.js';
export { PartitionedTable } from './repositories/partitioned-tables/partitioned-table.js';
export type {
  EnsurePartitionsOptions,
  PartitionedTableOptions,
  PartitionRetentionResult,
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
export type {
  ChatMessagesTable,
  ChatRole,
  ChatUsageTable,
  ConversationParticipantsTable,
  ConversationsTable,
  ParticipantRole,
} from './schema/chat.js';
export type { CarebaseDatabase } from './schema/database.js';
export type { EncryptionDataKeysTable } from './schema/encryption.js';
export type { MfaBackupCodesTable, MfaChallengesTable, UserMfaTable } from './schema/mfa.js';
export type { SchemaMigrationsTable } from './schema/migrations.js';
export type { PartitionedTablesTable } from './schema/partitioned-tables.js';
export type { SessionsTable } from './schema/sessions.js';
export type { UsersTable } from './schema/users.js';
