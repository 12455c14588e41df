import { resolve } from 'node:path';
import type { BackupConnectionOptions } from '../../../backup/connection.js';
import type { CommandContext } from '../../command.js';
import type { CliDatabase } from '../../connection.js';
import type { FlagSpec } from '../../flags.js';
import { stringFlag } from '../../flags.js';

/** `--dir`: the backup directory. */
export const DIR_FLAG: Readonly<Record<string, FlagSpec>> = {
  dir: {
    type: 'string',
    value: 'DIR',
    description: 'the backup directory (default: BACKUP_DIR, or ./backups)',
  },
};

/** The backup directory of a run: `--dir`, else `BACKUP_DIR` (environment or --env-file), else ./backups. */
export function backupDir(context: CommandContext): string {
  return resolve(
    context.io.cwd,
    stringFlag(context.values, 'dir') ?? context.io.env.BACKUP_DIR ?? './backups',
  );
}

/** The connection fields the backup functions take, from the run's database. */
export function backupConnection(database: CliDatabase): BackupConnectionOptions {
  const { connectionString, host, port, database: name, user, password, ssl, schema } = database.options;
  const fields = { connectionString, host, port, database: name, user, password, ssl, schema };
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined),
  ) as BackupConnectionOptions;
}

/** `12.3 MB`. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}
