import type { CliCommand } from '../command.js';
import { auditCheckpointCommand } from './audit-checkpoint.js';
import {
  auditReportAccessesCommand,
  auditReportBreakGlassCommand,
  auditReportDisclosuresCommand,
} from './audit-report.js';
import { auditVerifyCommand } from './audit-verify.js';
import { backupCreateCommand } from './backup/backup-create.js';
import { backupListCommand } from './backup/backup-list.js';
import { backupPruneCommand } from './backup/backup-prune.js';
import { backupRestoreCommand } from './backup/backup-restore.js';
import { backupVerifyCommand } from './backup/backup-verify.js';
import { doctorCommand } from './doctor/doctor.js';
import { importChatJsonCommand } from './import-chat-json.js';
import { migrateCreateCommand } from './migrate/migrate-create.js';
import { migrateDownCommand } from './migrate/migrate-down.js';
import { migrateLintCommand } from './migrate/migrate-lint.js';
import { migrateStatusCommand } from './migrate/migrate-status.js';
import { migrateUpCommand } from './migrate/migrate-up.js';
import { rolesGrantCommand } from './roles/roles-grant.js';

/**
 * Every `carebase` command, in the order help lists them. To add one, write a `CliCommand` in
 * `src/cli/commands/` and list it here: the runner gives it the connection flags, `--json`,
 * `--help`, the exit codes and the error handling, and the contract test
 * (test/cli/contract.test.ts) covers it from then on.
 */
export const COMMANDS: readonly CliCommand[] = [
  migrateUpCommand,
  migrateDownCommand,
  migrateStatusCommand,
  migrateCreateCommand,
  migrateLintCommand,
  rolesGrantCommand,
  backupCreateCommand,
  backupListCommand,
  backupVerifyCommand,
  backupRestoreCommand,
  backupPruneCommand,
  auditCheckpointCommand,
  auditVerifyCommand,
  auditReportAccessesCommand,
  auditReportDisclosuresCommand,
  auditReportBreakGlassCommand,
  importChatJsonCommand,
  doctorCommand,
];
