/**
 * `carebase/migration`: the migration runner. Sources (carebase's own, embedded at build time,
 * and any number of host folders) each keep their own history in `schema_migrations`.
 *
 * @packageDocumentation
 */

export { APP_ROLE_FUNCTIONS, APP_ROLE_TABLE_PRIVILEGES, ROW_SECURITY_TABLES } from './app-role-grants.js';
export { CHECKSUM_ALGORITHM, migrationChecksum, normalizeMigrationText } from './checksum.js';
export type { MigrationTarget } from './connection.js';
export { type FileMigrationsOptions, fileMigrations } from './file-source.js';
export {
  type GrantAppRoleOptions,
  GrantAppRoleOptionsSchema,
  type GrantAppRoleResult,
  grantAppRole,
} from './grant-app-role.js';
export { carebaseMigrations } from './library.js';
export {
  type LintFinding,
  type LintReport,
  lintMigrations,
  lintMigrationText,
} from './lint/lint-migrations.js';
export { LINT_RULES, type LintRule } from './lint/lint-rules.js';
export {
  type DataLossEffect,
  type MigrateOptions,
  MigrateOptionsSchema,
  type MigrateResult,
  type MigrationPlanStep,
  type MigrationRunOptions,
  type RollbackOptions,
  RollbackOptionsSchema,
} from './options.js';
export { parseMigration } from './parse.js';
export { rollback } from './rollback.js';
export { migrate } from './runner.js';
export { LIBRARY_NAMESPACE, withLibrary } from './sources.js';
export { migrationStatus, type SourceStatus } from './status.js';
export type {
  MigrationCode,
  MigrationDb,
  MigrationDefinition,
  MigrationProgress,
  MigrationResult,
  MigrationSource,
} from './types.js';
