import type {
  AccessReportInput,
  Actor,
  ActorInput,
  AnalyticsActiveUsersInput,
  AnalyticsBufferOptions,
  AnalyticsEventInput,
  AnalyticsFunnelInput,
  AnalyticsOptions,
  AnalyticsRetentionCohortsInput,
  AnalyticsRetentionInput,
  AnalyticsSummaryInput,
  AnalyticsTimeseriesInput,
  AnalyticsTopEventsInput,
  AuditAccessInput,
  AuditCheckpointInput,
  AuditDisclosureInput,
  AuditEntryInput,
  AuditExportInput,
  AuditOptions,
  AuditQueryInput,
  AuditRetentionInput,
  AuditSeverity,
  AuditVerifyInput,
  AuthenticateInput,
  BreakGlassReportInput,
  Carebase,
  CarebaseOptions,
  ChangePasswordInput,
  ChatAppendInput,
  ChatAppendManyInput,
  ChatClearInput,
  ChatContextInput,
  ChatEditInput,
  ChatExportInput,
  ChatHistoryInput,
  ChatImportOptions,
  ChatLatestInput,
  ChatOptions,
  ChatPart,
  ChatPathInput,
  ChatRegenerateInput,
  ChatRetentionInput,
  ChatSearchInput,
  ChatSetActiveLeafInput,
  ChatSiblingsInput,
  ChatUsageQuery,
  ChatUsageRecord,
  ChatUsageRow,
  ConversationCreateInput,
  ConversationListInput,
  ConversationRefInput,
  ConversationRenameInput,
  DisclosureReportInput,
  EmailVerificationCompleteOptions,
  EncryptExistingOptions,
  EncryptionOptions,
  EnsurePartitionsOptions,
  ImportAuditRow,
  ImportConversationRow,
  ImportedPasswordHash,
  ImportMessageRow,
  ImportUserRow,
  LegacyChatFile,
  MfaVerifyInput,
  PartitionedTableOptions,
  PasswordResetCompleteInput,
  PasswordResetIssueInput,
  PasswordResetRequestInput,
  PoolerMode,
  PoolOptions,
  PseudonymInput,
  PseudonymOptions,
  PurgeExpiredInput,
  RecordAuthenticationInput,
  RecordLoginInput,
  RefreshUsageRollupsResult,
  RegisterOptions,
  RejectInput,
  ReplicaReadsOptions,
  ResolvedAnalyticsOptions,
  ResolvedAuditOptions,
  ResolvedChatOptions,
  ResolvedEncryptionOptions,
  ResolvedPseudonymOptions,
  ResolvedReplicaReadsOptions,
  ResolvedSessionsOptions,
  ResolvedUsersOptions,
  RevokeAllInput,
  RewrapKeysOptions,
  RotateDataKeyOptions,
  RotateDataKeyResult,
  ScheduleCheckpointsOptions,
  SessionCreateInput,
  SessionListInput,
  SessionsOptions,
  SessionValidateInput,
  SslMode,
  SslOptions,
  TelemetryOptions,
  TrackManyOptions,
  TransactionOptions,
  UserCreateInput,
  UserListInput,
  UserRegisterInput,
  UsersOptions,
  UserUpdateInput,
} from 'carebase';
import type {
  BackupManifest,
  BackupManifestSchema,
  ListBackupsOptions,
  ListBackupsOptionsSchema,
  PruneBackupsOptions,
  PruneBackupsOptionsSchema,
} from 'carebase/backup';
import type { GrantAppRoleOptions, GrantAppRoleOptionsSchema } from 'carebase/migration';
import { ROW_SECURITY_TABLES } from 'carebase/migration';
import type {
  AccessReportInputSchema,
  ActorSchema,
  AnalyticsActiveUsersInputSchema,
  AnalyticsBufferOptionsSchema,
  AnalyticsEventInputSchema,
  AnalyticsFunnelInputSchema,
  AnalyticsOptionsSchema,
  AnalyticsRetentionCohortsInputSchema,
  AnalyticsRetentionInputSchema,
  AnalyticsSummaryInputSchema,
  AnalyticsTimeseriesInputSchema,
  AnalyticsTopEventsInputSchema,
  AuditAccessInputSchema,
  AuditCheckpointInputSchema,
  AuditDisclosureInputSchema,
  AuditEntryInputSchema,
  AuditExportInputSchema,
  AuditOptionsSchema,
  AuditQueryInputSchema,
  AuditRetentionInputSchema,
  AuditSeveritySchema,
  AuditVerifyInputSchema,
  AuthenticateInputSchema,
  BreakGlassReportInputSchema,
  CarebaseOptionsSchema,
  ChangePasswordInputSchema,
  ChatAppendInputSchema,
  ChatAppendManyInputSchema,
  ChatClearInputSchema,
  ChatContextInputSchema,
  ChatEditInputSchema,
  ChatExportInputSchema,
  ChatHistoryInputSchema,
  ChatImportOptionsSchema,
  ChatLatestInputSchema,
  ChatOptionsSchema,
  ChatPartSchema,
  ChatPartsSchema,
  ChatPathInputSchema,
  ChatRegenerateInputSchema,
  ChatRetentionInputSchema,
  ChatSearchInputSchema,
  ChatSetActiveLeafInputSchema,
  ChatSiblingsInputSchema,
  ChatUsageQuerySchema,
  ChatUsageRecordSchema,
  ConversationCreateInputSchema,
  ConversationListInputSchema,
  ConversationRefInputSchema,
  ConversationRenameInputSchema,
  DisclosureReportInputSchema,
  EmailVerificationCompleteOptionsSchema,
  EncryptExistingOptionsSchema,
  EncryptionOptionsSchema,
  EnsurePartitionsOptionsSchema,
  ImportAuditRowSchema,
  ImportConversationRowSchema,
  ImportedPasswordHashSchema,
  ImportMessageRowSchema,
  ImportUserRowSchema,
  LegacyChatFileSchema,
  MfaVerifyInputSchema,
  PartitionedTableOptionsSchema,
  PasswordResetCompleteInputSchema,
  PasswordResetIssueInputSchema,
  PasswordResetRequestInputSchema,
  PoolerModeSchema,
  PoolOptionsSchema,
  PseudonymInputSchema,
  PseudonymOptionsSchema,
  PurgeExpiredInputSchema,
  RecordAuthenticationInputSchema,
  RecordLoginInputSchema,
  RegisterOptionsSchema,
  RejectInputSchema,
  ReplicaReadsOptionsSchema,
  RevokeAllInputSchema,
  RewrapKeysOptionsSchema,
  RotateDataKeyOptionsSchema,
  ScheduleCheckpointsOptionsSchema,
  SessionCreateInputSchema,
  SessionListInputSchema,
  SessionsOptionsSchema,
  SessionValidateInputSchema,
  SslModeSchema,
  SslOptionsSchema,
  TelemetryOptionsSchema,
  TrackManyOptionsSchema,
  TransactionOptionsSchema,
  UserCreateInputSchema,
  UserListInputSchema,
  UserRegisterInputSchema,
  UsersOptionsSchema,
  UserUpdateInputSchema,
} from 'carebase/schemas';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';

// Public option and input types are plain interfaces a person can read; the zod schemas in
// carebase/schemas (and the subpaths' *Schema exports) validate the same shapes. Each pair must be
// mutually assignable with the same keys (an optional field added on one side only is caught), checked by the compiler (`npm run typecheck` compiles this file): a field
// added to a schema but not to its interface, or typed differently, fails the build.

/** True when A and B are assignable to each other and, as objects, have the same keys. */
type Mutual<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [KeysOf<A>] extends [KeysOf<B>]
      ? [KeysOf<B>] extends [KeysOf<A>]
        ? true
        : false
      : false
    : false
  : false;
/** The keys of an object type (of each member of a union), `never` for other types. */
type KeysOf<T> = T extends object ? keyof T : never;
function same<A, B>(..._proof: Mutual<A, B> extends true ? [] : [never]): boolean {
  return true;
}

describe('public types match their schemas', () => {
  it('every interface is mutually assignable with its schema', () => {
    const checks = [
      same<AnalyticsOptions | undefined, z.input<typeof AnalyticsOptionsSchema>>(),
      same<ResolvedAnalyticsOptions, z.output<typeof AnalyticsOptionsSchema>>(),
      same<AuditOptions | undefined, z.input<typeof AuditOptionsSchema>>(),
      same<ResolvedAuditOptions, z.output<typeof AuditOptionsSchema>>(),
      same<ChatOptions | undefined, z.input<typeof ChatOptionsSchema>>(),
      same<ResolvedChatOptions, z.output<typeof ChatOptionsSchema>>(),
      same<ReplicaReadsOptions | undefined, z.input<typeof ReplicaReadsOptionsSchema>>(),
      same<ResolvedReplicaReadsOptions, z.output<typeof ReplicaReadsOptionsSchema>>(),
      same<PoolOptions, z.input<typeof PoolOptionsSchema>>(),
      same<SessionsOptions | undefined, z.input<typeof SessionsOptionsSchema>>(),
      same<ResolvedSessionsOptions, z.output<typeof SessionsOptionsSchema>>(),
      same<UsersOptions | undefined, z.input<typeof UsersOptionsSchema>>(),
      same<ResolvedUsersOptions, z.output<typeof UsersOptionsSchema>>(),
      same<BackupManifest, z.output<typeof BackupManifestSchema>>(),
      same<ListBackupsOptions, z.input<typeof ListBackupsOptionsSchema>>(),
      same<PruneBackupsOptions, z.input<typeof PruneBackupsOptionsSchema>>(),
      same<TransactionOptions, z.input<typeof TransactionOptionsSchema>>(),
      same<Actor, z.output<typeof ActorSchema>>(),
      same<ActorInput, z.input<typeof ActorSchema>>(),
      same<AnalyticsEventInput, z.input<typeof AnalyticsEventInputSchema>>(),
      same<TrackManyOptions, z.input<typeof TrackManyOptionsSchema>>(),
      same<AnalyticsBufferOptions, z.input<typeof AnalyticsBufferOptionsSchema>>(),
      same<AuditEntryInput, z.input<typeof AuditEntryInputSchema>>(),
      same<AnalyticsRetentionInput, z.input<typeof AnalyticsRetentionInputSchema>>(),
      same<AnalyticsSummaryInput, z.input<typeof AnalyticsSummaryInputSchema>>(),
      same<AnalyticsTimeseriesInput, z.input<typeof AnalyticsTimeseriesInputSchema>>(),
      same<AnalyticsActiveUsersInput, z.input<typeof AnalyticsActiveUsersInputSchema>>(),
      same<AnalyticsTopEventsInput, z.input<typeof AnalyticsTopEventsInputSchema>>(),
      same<AuditExportInput, z.input<typeof AuditExportInputSchema>>(),
      same<AuditQueryInput, z.input<typeof AuditQueryInputSchema>>(),
      same<AuditRetentionInput, z.input<typeof AuditRetentionInputSchema>>(),
      same<AuditVerifyInput, z.input<typeof AuditVerifyInputSchema>>(),
      same<AuditAccessInput, z.input<typeof AuditAccessInputSchema>>(),
      same<AuditDisclosureInput, z.input<typeof AuditDisclosureInputSchema>>(),
      same<AuditCheckpointInput, z.input<typeof AuditCheckpointInputSchema>>(),
      same<ScheduleCheckpointsOptions, z.input<typeof ScheduleCheckpointsOptionsSchema>>(),
      same<AccessReportInput, z.input<typeof AccessReportInputSchema>>(),
      same<DisclosureReportInput, z.input<typeof DisclosureReportInputSchema>>(),
      same<BreakGlassReportInput, z.input<typeof BreakGlassReportInputSchema>>(),
      same<AuditSeverity, z.output<typeof AuditSeveritySchema>>(),
      same<ConversationCreateInput, z.input<typeof ConversationCreateInputSchema>>(),
      same<ConversationListInput, z.input<typeof ConversationListInputSchema>>(),
      same<ConversationRenameInput, z.input<typeof ConversationRenameInputSchema>>(),
      same<ConversationRefInput, z.input<typeof ConversationRefInputSchema>>(),
      same<ChatAppendInput, z.input<typeof ChatAppendInputSchema>>(),
      same<ChatUsageQuery, z.input<typeof ChatUsageQuerySchema>>(),
      same<ChatUsageRecord, z.input<typeof ChatUsageRecordSchema>>(),
      same<ChatEditInput, z.input<typeof ChatEditInputSchema>>(),
      same<ChatRegenerateInput, z.input<typeof ChatRegenerateInputSchema>>(),
      same<ChatSetActiveLeafInput, z.input<typeof ChatSetActiveLeafInputSchema>>(),
      same<ChatPathInput, z.input<typeof ChatPathInputSchema>>(),
      same<ChatSiblingsInput, z.input<typeof ChatSiblingsInputSchema>>(),
      same<ChatContextInput, z.input<typeof ChatContextInputSchema>>(),
      same<ChatHistoryInput, z.input<typeof ChatHistoryInputSchema>>(),
      same<ChatLatestInput, z.input<typeof ChatLatestInputSchema>>(),
      same<ChatSearchInput, z.input<typeof ChatSearchInputSchema>>(),
      same<ChatClearInput, z.input<typeof ChatClearInputSchema>>(),
      same<ChatExportInput, z.input<typeof ChatExportInputSchema>>(),
      same<ChatRetentionInput, z.input<typeof ChatRetentionInputSchema>>(),
      same<ChatImportOptions, z.input<typeof ChatImportOptionsSchema>>(),
      same<SessionCreateInput, z.input<typeof SessionCreateInputSchema>>(),
      same<RevokeAllInput, z.input<typeof RevokeAllInputSchema>>(),
      same<SessionListInput, z.input<typeof SessionListInputSchema>>(),
      same<PurgeExpiredInput, z.input<typeof PurgeExpiredInputSchema>>(),
      same<UserCreateInput, z.input<typeof UserCreateInputSchema>>(),
      same<UserUpdateInput, z.input<typeof UserUpdateInputSchema>>(),
      same<UserListInput, z.input<typeof UserListInputSchema>>(),
      same<AuthenticateInput, z.input<typeof AuthenticateInputSchema>>(),
      same<ChangePasswordInput, z.input<typeof ChangePasswordInputSchema>>(),
      same<GrantAppRoleOptions, z.input<typeof GrantAppRoleOptionsSchema>>(),
      same<ChatAppendManyInput, z.input<typeof ChatAppendManyInputSchema>>(),
      same<LegacyChatFile, z.input<typeof LegacyChatFileSchema>>(),
      same<SslMode, z.output<typeof SslModeSchema>>(),
      same<SslOptions, z.input<typeof SslOptionsSchema>>(),
      same<CarebaseOptions, z.input<typeof CarebaseOptionsSchema>>(),
      same<EncryptionOptions, z.input<typeof EncryptionOptionsSchema>>(),
      same<ResolvedEncryptionOptions, z.output<typeof EncryptionOptionsSchema>>(),
      same<ResolvedPseudonymOptions, z.output<typeof PseudonymOptionsSchema>>(),
      same<PseudonymOptions, z.input<typeof PseudonymOptionsSchema>>(),
      same<EncryptExistingOptions, z.input<typeof EncryptExistingOptionsSchema>>(),
      same<RewrapKeysOptions, z.input<typeof RewrapKeysOptionsSchema>>(),
      same<RotateDataKeyOptions, z.input<typeof RotateDataKeyOptionsSchema>>(),
      same<PseudonymInput, z.input<typeof PseudonymInputSchema>>(),
      same<TelemetryOptions, z.input<typeof TelemetryOptionsSchema>>(),
      same<AnalyticsFunnelInput, z.input<typeof AnalyticsFunnelInputSchema>>(),
      same<AnalyticsRetentionCohortsInput, z.input<typeof AnalyticsRetentionCohortsInputSchema>>(),
      same<ImportAuditRow, z.input<typeof ImportAuditRowSchema>>(),
      same<ImportConversationRow, z.input<typeof ImportConversationRowSchema>>(),
      same<ImportMessageRow, z.input<typeof ImportMessageRowSchema>>(),
      same<ImportUserRow, z.input<typeof ImportUserRowSchema>>(),
      same<PartitionedTableOptions, z.input<typeof PartitionedTableOptionsSchema>>(),
      same<EnsurePartitionsOptions, z.input<typeof EnsurePartitionsOptionsSchema>>(),
      same<SessionValidateInput, z.input<typeof SessionValidateInputSchema>>(),
      same<RecordAuthenticationInput, z.input<typeof RecordAuthenticationInputSchema>>(),
      same<MfaVerifyInput, z.input<typeof MfaVerifyInputSchema>>(),
      same<PasswordResetRequestInput, z.input<typeof PasswordResetRequestInputSchema>>(),
      same<PasswordResetCompleteInput, z.input<typeof PasswordResetCompleteInputSchema>>(),
      same<ImportedPasswordHash, z.input<typeof ImportedPasswordHashSchema>>(),
      same<RecordLoginInput, z.input<typeof RecordLoginInputSchema>>(),
      same<RegisterOptions, z.input<typeof RegisterOptionsSchema>>(),
      same<RejectInput, z.input<typeof RejectInputSchema>>(),
      same<PasswordResetIssueInput, z.input<typeof PasswordResetIssueInputSchema>>(),
      same<EmailVerificationCompleteOptions, z.input<typeof EmailVerificationCompleteOptionsSchema>>(),
      same<UserRegisterInput, z.input<typeof UserRegisterInputSchema>>(),
      same<PoolerMode, z.output<typeof PoolerModeSchema>>(),
      same<ChatPart, z.input<typeof ChatPartSchema>>(),
      same<ChatPart, z.output<typeof ChatPartSchema>>(),
      same<readonly ChatPart[], z.input<typeof ChatPartsSchema>>(),
    ];
    expect(checks.every(Boolean)).toBe(true);
  });

  it('edit and regenerate take typed parts (content optional), regenerate takes usage', () => {
    expectTypeOf<ChatEditInput['parts']>().toEqualTypeOf<readonly ChatPart[] | undefined>();
    expectTypeOf<ChatEditInput['content']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<ChatRegenerateInput['parts']>().toEqualTypeOf<readonly ChatPart[] | undefined>();
    expectTypeOf<ChatRegenerateInput['usage']>().toEqualTypeOf<ChatUsageRecord | undefined>();
    expectTypeOf<Carebase['chat']['regenerate']>().parameter(0).toEqualTypeOf<ChatRegenerateInput>();
    expectTypeOf<Carebase['chat']['edit']>().parameter(0).toEqualTypeOf<ChatEditInput>();
  });

  it('chat usage report and refresh results are plain readable shapes', () => {
    expectTypeOf<ChatUsageRow>().toEqualTypeOf<{
      readonly key: string;
      readonly currency: string | null;
      readonly calls: number;
      readonly okCalls: number;
      readonly errorCalls: number;
      readonly abortedCalls: number;
      readonly inputTokens: number;
      readonly outputTokens: number;
      readonly cachedTokens: number;
      readonly reasoningTokens: number;
      readonly cost: string | null;
    }>();
    expectTypeOf<RefreshUsageRollupsResult>().toEqualTypeOf<{
      readonly rolledUpTo: Date;
      readonly daysRefreshed: number;
    }>();
  });
});

describe('row-level security options', () => {
  it('types rls, grantAppRole rowSecurity and ROW_SECURITY_TABLES', () => {
    expectTypeOf<CarebaseOptions['rls']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<GrantAppRoleOptions['rowSecurity']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<typeof ROW_SECURITY_TABLES>().toEqualTypeOf<readonly string[]>();
    expect(ROW_SECURITY_TABLES).toContain('chat_messages');
  });
});

describe('cb.encryption.rotateDataKey', () => {
  it('takes a user id and options, and resolves to its result', () => {
    expectTypeOf<Parameters<Carebase['encryption']['rotateDataKey']>[0]>().toEqualTypeOf<string>();
    expectTypeOf<Parameters<Carebase['encryption']['rotateDataKey']>[1]>().toEqualTypeOf<
      RotateDataKeyOptions | undefined
    >();
    expectTypeOf<
      Carebase['encryption']['rotateDataKey']
    >().returns.resolves.toEqualTypeOf<RotateDataKeyResult>();
    expectTypeOf<RotateDataKeyResult['version']>().toEqualTypeOf<number>();
  });
});
