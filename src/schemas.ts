/**
 * carebase/schemas: the zod schemas behind carebase's options and inputs, for hosts that validate
 * their own input (a request body, a settings file) exactly as carebase will. The main entry
 * exports the plain TypeScript types of the same shapes (`UserCreateInput` for
 * `UserCreateInputSchema`). Every schema is named after the type it validates, plus `Schema`.
 *
 * @packageDocumentation
 */

export { AnalyticsOptionsSchema } from './config/analytics-options.js';
export { AuditOptionsSchema } from './config/audit-options.js';
export { ChatOptionsSchema } from './config/chat-options.js';
export { EncryptionOptionsSchema, PseudonymOptionsSchema } from './config/encryption-options.js';
export { MigrationsOptionsSchema } from './config/migrations-options.js';
export { CarebaseOptionsSchema } from './config/options.js';
export {
  PoolerModeSchema,
  PoolOptionsSchema,
  SslModeSchema,
  SslOptionsSchema,
} from './config/pool-options.js';
export { ReplicaReadsOptionsSchema } from './config/replica-options.js';
export { SessionsOptionsSchema } from './config/sessions-options.js';
export { QueryListenerSchema, TelemetryOptionsSchema } from './config/telemetry-options.js';
export { UsersOptionsSchema } from './config/users-options.js';
export { TransactionOptionsSchema } from './pool/transaction.js';
export { AnalyticsBufferOptionsSchema } from './repositories/analytics/analytics-buffer.js';
export { AnalyticsRetentionInputSchema } from './repositories/analytics/apply-retention.js';
export { AnalyticsEventInputSchema, TrackManyOptionsSchema } from './repositories/analytics/event-input.js';
export {
  AnalyticsFunnelInputSchema,
  AnalyticsRetentionCohortsInputSchema,
} from './repositories/analytics/funnel-input.js';
export {
  AnalyticsActiveUsersInputSchema,
  AnalyticsSummaryInputSchema,
  AnalyticsTimeseriesInputSchema,
  AnalyticsTopEventsInputSchema,
} from './repositories/analytics/query-input.js';
export { AuditAccessInputSchema, AuditDisclosureInputSchema } from './repositories/audit/access.js';
export { AuditCheckpointInputSchema } from './repositories/audit/checkpoint.js';
export { SignedAuditCheckpointSchema } from './repositories/audit/checkpoint-format.js';
export { ScheduleCheckpointsOptionsSchema } from './repositories/audit/checkpoint-schedule.js';
export { AuditExportInputSchema } from './repositories/audit/export.js';
export { AuditQueryInputSchema } from './repositories/audit/query.js';
export { AuditEntryInputSchema, AuditSeveritySchema } from './repositories/audit/record.js';
export {
  AccessReportInputSchema,
  BreakGlassReportInputSchema,
  DisclosureReportInputSchema,
} from './repositories/audit/report.js';
export { AuditRetentionInputSchema } from './repositories/audit/retention.js';
export { AuditVerifyInputSchema } from './repositories/audit/verify.js';
export {
  ChatAppendInputSchema,
  ChatAppendManyInputSchema,
  ChatClearInputSchema,
  ChatContentSchema,
  ChatExportInputSchema,
  ChatHistoryInputSchema,
  ChatLatestInputSchema,
  ChatMessageIdSchema,
  ChatMetadataSchema,
  ChatRetentionInputSchema,
  ChatRoleSchema,
  ChatSearchInputSchema,
  ConversationCreateInputSchema,
  ConversationListInputSchema,
  ConversationRefInputSchema,
  ConversationRenameInputSchema,
} from './repositories/chat/chat-inputs.js';
export { ChatImportOptionsSchema, LegacyChatFileSchema } from './repositories/chat/import-legacy.js';
export {
  ConversationStatusSchema,
  ConversationUpdateSchema,
  ParticipantAddInputSchema,
  ParticipantGrantRoleSchema,
  ParticipantRemoveInputSchema,
} from './repositories/chat/sharing-inputs.js';
export {
  ChatContextInputSchema,
  ChatEditInputSchema,
  ChatPathInputSchema,
  ChatRegenerateInputSchema,
  ChatSetActiveLeafInputSchema,
  ChatSiblingsInputSchema,
} from './repositories/chat/tree-inputs.js';
export { ChatUsageQuerySchema, ChatUsageRecordSchema } from './repositories/chat/usage-inputs.js';
export { EncryptExistingOptionsSchema } from './repositories/chat-encryption/encrypt-existing.js';
export { RotateDataKeyOptionsSchema } from './repositories/chat-encryption/rotate-data-key.js';
export { ActorSchema } from './repositories/context.js';
export { RewrapKeysOptionsSchema } from './repositories/encryption/rewrap-keys.js';
export {
  ExternalIdSchema,
  ImportAuditInputSchema,
  ImportAuditRowSchema,
  ImportConversationRowSchema,
  ImportConversationsInputSchema,
  ImportMessageRowSchema,
  ImportMessagesInputSchema,
  ImportSourceSchema,
  ImportTimeSchema,
  ImportUserRowSchema,
  ImportUsersInputSchema,
} from './repositories/imports/import-inputs.js';
export {
  EnsurePartitionsOptionsSchema,
  PartitionedTableOptionsSchema,
} from './repositories/partitioned-tables/partitioned-table-options.js';
export {
  PurgeExpiredInputSchema,
  RecordAuthenticationInputSchema,
  RevokeAllInputSchema,
  RevokeReasonSchema,
  SessionCreateInputSchema,
  SessionListInputSchema,
  SessionValidateInputSchema,
} from './repositories/sessions/session-inputs.js';
export { EmailVerificationCompleteOptionsSchema } from './repositories/users/email-verification.js';
export { MfaVerifyInputSchema } from './repositories/users/mfa.js';
export {
  PasswordResetCompleteInputSchema,
  PasswordResetRequestInputSchema,
} from './repositories/users/password-reset.js';
export {
  AuthenticateInputSchema,
  ChangePasswordInputSchema,
  DisplayNameSchema,
  EmailSchema,
  ImportedPasswordHashSchema,
  PasswordResetIssueInputSchema,
  PasswordSchema,
  RecordLoginInputSchema,
  RegisterOptionsSchema,
  RejectInputSchema,
  RoleSchema,
  UserCreateInputSchema,
  UserListInputSchema,
  UsernameSchema,
  UserRegisterInputSchema,
  UserUpdateInputSchema,
} from './repositories/users/user-inputs.js';
export { StorableDateSchema } from './validation/dates.js';
export { jsonObjectSchema } from './validation/json.js';
export { PseudonymInputSchema } from './validation/pseudonym-input.js';
export { StorableTextSchema } from './validation/text.js';
