import { createBackup } from '../../../backup/create-backup.js';
import { type CliCommand, ok } from '../../command.js';
import { integerFlag, stringFlag } from '../../flags.js';
import { UsageError } from '../../usage-error.js';
import { backupConnection, backupDir, DIR_FLAG, megabytes } from './backup-options.js';

/** `carebase backup create`: pg_dump -Fc into the backup directory, with a checksummed manifest. */
export const backupCreateCommand: CliCommand = {
  path: ['backup', 'create'],
  summary: 'pg_dump -Fc into the backup dir, with a checksummed manifest (never while a migration runs)',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    ...DIR_FLAG,
    name: { type: 'string', value: 'NAME', description: 'base file name (default: <database>-<UTC time>)' },
    compression: { type: 'string', value: '0-9', description: "pg_dump's compression level" },
  },
  async run(context) {
    const compression = integerFlag(context.values, 'compression', 0, 9);
    const name = stringFlag(context.values, 'name');
    if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) {
      throw new UsageError('--name must be letters, digits, dot, dash or underscore');
    }
    const database = await context.database();
    const bar = context.progress('backup');
    const backup = await createBackup({
      ...backupConnection(database),
      dir: backupDir(context),
      signal: context.signal,
      ...(name === undefined ? {} : { name }),
      ...(compression === undefined ? {} : { compression }),
      onProgress: (p) => {
        const seconds = p.elapsedMs / 1000;
        const rate = seconds > 0 ? `, ${megabytes(p.bytesWritten / seconds)}/s` : '';
        bar.update(
          p.bytesWritten,
          undefined,
          `${p.phase}: ${megabytes(p.bytesWritten)}${rate}, ${seconds.toFixed(1)} s`,
        );
      },
    });
    bar.stop();
    return ok(
      { path: backup.path, manifestPath: backup.manifestPath, manifest: backup.manifest },
      `${backup.path} (${megabytes(backup.manifest.sizeBytes)}, sha256 ${backup.manifest.sha256})`,
    );
  },
};
