import type { CliCommand } from '../command.js';
import { auditCliCommand } from './audit.js';
import { backupCliCommand } from './backup.js';
import { importCliCommand } from './import-chat.js';
import { migrateCommand } from './migrate.js';

/**
 * Every `carebase` command, in the order `carebase --help` lists them. To add one, write
 * `src/cli/commands/<name>.ts` exporting a `CliCommand`, import it here and add it to the list
 * (one import line and one entry line per command; keep the other lines as they are).
 */
export const COMMANDS: readonly CliCommand[] = [
  // --- migrations ---
  migrateCommand,
  // --- backup ---
  backupCliCommand,
  // --- audit ---
  auditCliCommand,
  // --- import ---
  importCliCommand,
  // --- doctor ---
];
