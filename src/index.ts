/**
 * carebase: the PostgreSQL data layer for clinical and AI-assistant apps.
 *
 * @packageDocumentation
 */

// Core
export { Carebase, CarebaseScope, type CreateCarebaseExtras, createCarebase } from './carebase.js';
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
// Configuration
export { type CarebaseEnv, configFromEnv } from './config/from-env.js';
export { type CarebaseOptions, CarebaseOptionsSchema } from './config/options.js';
export {
  POOL_DEFAULTS,
  type PoolOptions,
  PoolOptionsSchema,
  type ResolvedPoolOptions,
  type ResolvedSslOptions,
  type SslMode,
  type SslOptions,
} from './config/pool-options.js';
export { type ResolvedConfig, type ResolvedConnection, resolveConfig } from './config/resolve.js';
export { Secret } from './config/secret.js';
export {
  type ResolvedSessionsOptions,
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
  CarebaseError,
  type CarebaseErrorByCode,
  type CarebaseErrorCode,
  type CarebaseErrorOptions,
  ClosedError,
  ConflictError,
  ConnectionError,
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
export { DRIVER_ERROR, DriverErrorSummary } from './errors/map-error.js';
// Logging
export { type Clock, type Logger, silentLogger, systemClock } from './logging/logger.js';
export { createPool, poolConfigFrom } from './pool/create-pool.js';
export type { HealthReport } from './pool/health.js';
export { type TransactionOptions, TransactionOptionsSchema } from './pool/transaction.js';
export { type Actor, type ActorInput, ActorSchema } from './repositories/context.js';
export type { AuditLogTable, JsonValue } from './schema/audit.js';
export type { CarebaseDatabase } from './schema/database.js';
export type { SchemaMigrationsTable } from './schema/migrations.js';
export type { UsersTable } from './schema/users.js';

// --- users & sessions (issue 7) ---

export type { AuditEntry } from './repositories/audit/audit-entry.js';
export { AuditRepository } from './repositories/audit/audit-repository.js';
export { AuditExportInput } from './repositories/audit/export.js';
export { type AuditPage, AuditQueryInput } from './repositories/audit/query.js';
// --- audit (issue 6) ---
export { AuditEntryInput } from './repositories/audit/record.js';
export { AuditRetentionInput, type AuditRetentionResult } from './repositories/audit/retention.js';
export {
  type AuditTamperReason,
  AuditVerifyInput,
  type AuditVerifyResult,
} from './repositories/audit/verify.js';
export type { AuditChainHeadTable, AuditChainTable, AuditSealStateTable } from './schema/audit.js';

// --- chat (issue 8) ---

// --- analytics (issue 9) ---
