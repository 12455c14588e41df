import { resolve } from 'node:path';
import { restoreBackup } from '../../../backup/restore-backup.js';
import { type CliCommand, ok } from '../../command.js';
import { integerFlag, stringFlag } from '../../flags.js';
import { UsageError } from '../../usage-error.js';
import { backupConnection } from './backup-options.js';

/** `carebase backup restore FILE`: into a new database, or swapped in by rename with `--mode replace`. */
export const backupRestoreCommand: CliCommand = {
  path: ['backup', 'restore'],
  summary: 'restore into a new database (the live one is untouched), or --mode replace to swap it in',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  database: 'required',
  flags: {
    mode: {
      type: 'string',
      value: 'new|replace',
      description: 'replace: restore, check, then swap in by rename (keeps the old one)',
    },
    target: {
      type: 'string',
      value: 'NAME',
      description: 'new: the database to create; replace: the database to replace',
    },
    'terminate-connections': {
      type: 'boolean',
      description: 'replace: end other sessions instead of refusing',
    },
    jobs: { type: 'string', value: 'N', description: 'parallel pg_restore jobs' },
  },
  async run(context) {
    const mode = stringFlag(context.values, 'mode') ?? 'new';
    if (mode !== 'new' && mode !== 'replace') throw new UsageError('--mode must be new or replace');
    const jobs = integerFlag(context.values, 'jobs', 1, 64);
    const target = stringFlag(context.values, 'target');
    const path = resolve(context.io.cwd, context.positionals[0] ?? '');
    const database = await context.database();
    const bar = context.progress('restoring');
    const result = await restoreBackup(path, {
      ...backupConnection(database),
      mode,
      terminateConnections: context.values['terminate-connections'] === true,
      signal: context.signal,
      ...(target === undefined ? {} : { target }),
      ...(jobs === undefined ? {} : { jobs }),
      onProgress: (p) =>
        bar.update(
          p.itemsDone,
          p.itemsTotal > 0 ? p.itemsTotal : undefined,
          `${p.phase}, ${(p.elapsedMs / 1000).toFixed(1)} s`,
        ),
    });
    bar.stop();
    const previous =
      result.previousDatabase === undefined ? '' : `\nprevious database kept as ${result.previousDatabase}`;
    return ok({ ...result }, `restored into ${result.displayUrl}${previous}`);
  },
};
