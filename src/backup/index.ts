/**
 * `carebase/backup`: logical backups with `pg_dump -Fc` that work against any PostgreSQL, managed
 * or not: checksummed archives with sidecar manifests, verification (optionally by trial
 * restore), restores that never touch the live database unless asked to swap, retention that
 * never deletes the last good backup, and an in-process scheduler.
 *
 * @packageDocumentation
 */
export { BackupsApi, type WithoutConnection } from './backups-api.js';
export type { BackupConnectionOptions, CarebaseLike } from './connection.js';
export {
  type BackupProgress,
  type BackupResult,
  type CreateBackupOptions,
  CreateBackupOptionsSchema,
  createBackup,
} from './create-backup.js';
export {
  type BackupEntry,
  type BackupStatus,
  type ListBackupsOptions,
  ListBackupsOptionsSchema,
  listBackups,
} from './list-backups.js';
export { type BackupManifest, BackupManifestSchema } from './manifest.js';
export { type FindPgToolsOptions, FindPgToolsOptionsSchema, findPgTools, type PgTools } from './pg-tools.js';
export {
  type PruneBackupsOptions,
  PruneBackupsOptionsSchema,
  type PruneKeepReason,
  type PruneResult,
  pruneBackups,
} from './prune-backups.js';
export {
  DropPreviousOptionsSchema,
  dropPreviousDatabase,
  type RestoreBackupOptions,
  RestoreBackupOptionsSchema,
  type RestoreProgress,
  type RestoreResult,
  restoreBackup,
} from './restore-backup.js';
export {
  type BackupInterval,
  type BackupSchedule,
  type ScheduleBackupsOptions,
  ScheduleBackupsOptionsSchema,
  type ScheduledRun,
  scheduleBackups,
} from './schedule-backups.js';
export {
  type RowCountMismatch,
  type VerifyBackupOptions,
  VerifyBackupOptionsSchema,
  type VerifyResult,
  verifyBackup,
} from './verify-backup.js';
